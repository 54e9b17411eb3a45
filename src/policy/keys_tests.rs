use super::*;
use crate::config::governance::TeamConfig;
use crate::config::KeySpec;
use crate::error::ErrorKind;

fn key(name: &str, secret: &str, team: Option<&str>, models: &[&str]) -> KeySpec {
    KeySpec {
        name: name.into(),
        digest: parse_hash(&hash_key(secret)).unwrap(),
        team: team.map(str::to_string),
        models: models.iter().map(|m| m.to_string()).collect(),
        metadata: Default::default(),
        limits: Default::default(),
        budget: Default::default(),
        guardrails: Vec::new(),
        cache_bypass: true,
    }
}

fn file(mode: Option<&str>) -> Governance {
    Governance {
        auth: AuthMode::parse(mode).unwrap(),
        keys: vec![
            key(
                "alice",
                "sk-tg-alice-0001",
                Some("ml"),
                &["gpt-4o*", "anthropic/*"],
            ),
            key("bob", "sk-tg-bob-0002", None, &[]),
        ],
        teams: vec![TeamConfig {
            name: "ml".into(),
            limits: Default::default(),
            budget: Default::default(),
        }],
        ..Governance::default()
    }
}

#[test]
fn hash_key_matches_known_sha256() {
    // sha256("abc") from FIPS 180-2, appendix B.1.
    assert_eq!(
        hash_key("abc"),
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(parse_hash(&hash_key("abc")).map(|d| d[0]), Some(0xba));
    assert_eq!(
        parse_hash(&hash_key("abc").to_uppercase().replace("SHA256", "sha256")).map(|d| d[31]),
        Some(0xad)
    );
    assert!(parse_hash("sha256:abc").is_none());
    assert!(
        parse_hash("md5:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
            .is_none()
    );
    assert!(parse_hash("sk-plaintext").is_none());
}

#[test]
fn known_keys_authenticate_with_their_team() {
    let store = KeyStore::from_config(&file(None)).unwrap();
    let alice = store.authenticate(Some("sk-tg-alice-0001")).unwrap();
    assert_eq!(alice.name, "alice");
    assert_eq!(alice.team_name(), Some("ml"));
    assert!(!alice.anonymous);
    let bob = store.authenticate(Some("sk-tg-bob-0002")).unwrap();
    assert_eq!(bob.name, "bob");
    assert_eq!(bob.team_name(), None);
}

#[test]
fn missing_and_unknown_keys_are_unauthorized_without_echo() {
    let store = KeyStore::from_config(&file(Some("keys"))).unwrap();
    let missing = store.authenticate(None).unwrap_err();
    assert_eq!(missing.kind, ErrorKind::Unauthorized);
    assert!(missing.message.contains("missing"));
    let wrong = store
        .authenticate(Some("sk-tg-alice-0002-secret"))
        .unwrap_err();
    assert_eq!(wrong.kind, ErrorKind::Unauthorized);
    assert_eq!(wrong.status(), 401);
    assert!(!wrong.message.contains("sk-tg"), "{}", wrong.message);
    assert!(!wrong
        .to_json(crate::error::Dialect::OpenAi)
        .to_string()
        .contains("secret"));
}

#[test]
fn open_mode_is_anonymous_unless_a_known_key_is_shown() {
    let store = KeyStore::from_config(&file(Some("open"))).unwrap();
    assert!(store.authenticate(None).unwrap().anonymous);
    assert!(
        store
            .authenticate(Some("sk-someone-elses-openai-key"))
            .unwrap()
            .anonymous
    );
    assert_eq!(
        store.authenticate(Some("sk-tg-bob-0002")).unwrap().name,
        "bob"
    );
}

#[test]
fn model_allow_list_uses_globs() {
    let store = KeyStore::from_config(&file(None)).unwrap();
    let alice = store.authenticate(Some("sk-tg-alice-0001")).unwrap();
    assert!(store.authorize_model(&alice, "gpt-4o").is_ok());
    assert!(store.authorize_model(&alice, "gpt-4o-mini").is_ok());
    assert!(store
        .authorize_model(&alice, "anthropic/claude-sonnet-4")
        .is_ok());
    let e = store.authorize_model(&alice, "gpt-4.1").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Forbidden);
    assert_eq!(e.status(), 403);
    assert!(e.message.contains("gpt-4.1"));
    // An empty list allows everything.
    let bob = store.authenticate(Some("sk-tg-bob-0002")).unwrap();
    assert!(store.authorize_model(&bob, "anything/at-all").is_ok());
}

#[test]
fn presented_key_reads_bearer_or_x_api_key() {
    assert_eq!(presented_key(Some("Bearer sk-1"), None), Some("sk-1"));
    assert_eq!(presented_key(Some("bearer   sk-1  "), None), Some("sk-1"));
    assert_eq!(presented_key(None, Some("sk-2")), Some("sk-2"));
    assert_eq!(
        presented_key(Some("Bearer sk-1"), Some("sk-2")),
        Some("sk-1")
    );
    assert_eq!(
        presented_key(Some("Basic dXNlcjpw"), Some("sk-2")),
        Some("sk-2")
    );
    assert_eq!(presented_key(Some("Bearer "), None), None);
    assert_eq!(presented_key(None, Some("  ")), None);
    assert_eq!(presented_key(None, None), None);
}

#[test]
fn bad_config_is_an_error_not_a_panic() {
    let mut f = file(None);
    f.keys[1].team = Some("nope".into());
    assert!(KeyStore::from_config(&f)
        .unwrap_err()
        .contains("unknown team"));
}

#[test]
fn constant_time_compare_is_exact() {
    let a = [7u8; 32];
    let mut b = a;
    assert!(ct_eq(&a, &b));
    b[31] ^= 1;
    assert!(!ct_eq(&a, &b));
    b = a;
    b[0] ^= 0x80;
    assert!(!ct_eq(&a, &b));
}
