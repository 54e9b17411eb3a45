use super::*;

fn kinds(d: Detector, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    find(&[d], text, &mut out);
    out.iter()
        .map(|h| text[h.start..h.end].to_string())
        .collect()
}

#[test]
fn all_patterns_compile() {
    assert!(available());
    for d in Detector::ALL {
        assert_eq!(Detector::parse(d.as_str()), Some(d));
    }
    assert_eq!(Detector::parse("ssn"), None);
}

#[test]
fn luhn_accepts_test_cards_and_rejects_typos() {
    for ok in [
        "4111111111111111",
        "5555555555554444",
        "378282246310005",
        "6011111111111117",
        "79927398713",
    ] {
        assert!(luhn_valid(ok.as_bytes()), "{ok}");
    }
    for bad in ["4111111111111112", "5555555555554440", "79927398710", ""] {
        assert!(!luhn_valid(bad.as_bytes()), "{bad}");
    }
}

#[test]
fn iban_mod97_accepts_published_examples() {
    // Examples from the ECBS IBAN registry.
    for ok in [
        "DE89370400440532013000",
        "GB82WEST12345698765432",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
    ] {
        assert!(iban_valid(ok.as_bytes()), "{ok}");
    }
    for bad in [
        "DE89370400440532013001",
        "GB82WEST1234569876543",
        "XX00",
        "de89370400440532013000",
    ] {
        assert!(!iban_valid(bad.as_bytes()), "{bad}");
    }
}

#[test]
fn email_detector() {
    assert_eq!(
        kinds(
            Detector::Email,
            "write to Jane.Doe+x@mail.example.co.uk today"
        ),
        ["Jane.Doe+x@mail.example.co.uk"]
    );
    assert!(kinds(Detector::Email, "user@localhost and @handle and a@b").is_empty());
}

#[test]
fn phone_detector() {
    assert_eq!(
        kinds(Detector::Phone, "call (415) 555-2671 now"),
        ["(415) 555-2671"]
    );
    assert_eq!(kinds(Detector::Phone, "or 415.555.2671"), ["415.555.2671"]);
    assert_eq!(
        kinds(Detector::Phone, "intl +44 20 7946 0958."),
        ["+44 20 7946 0958"]
    );
    assert_eq!(
        kinds(Detector::Phone, "de +4915112345678"),
        ["+4915112345678"]
    );
    // Dates, versions, short numbers and plain integers are not phones.
    assert!(kinds(Detector::Phone, "on 2024-01-15 v1.2.3 id 1709247600 +1 5").is_empty());
}

#[test]
fn credit_card_detector_uses_luhn() {
    assert_eq!(
        kinds(Detector::CreditCard, "card 4111 1111 1111 1111 exp"),
        ["4111 1111 1111 1111"]
    );
    assert_eq!(
        kinds(Detector::CreditCard, "amex 3782-822463-10005"),
        ["3782-822463-10005"]
    );
    assert!(kinds(Detector::CreditCard, "order 4111 1111 1111 1112").is_empty());
    // Luhn-valid but not a card prefix (starts with 0) and too short numbers.
    assert!(kinds(Detector::CreditCard, "ref 0000000000000000 and 79927398713").is_empty());
}

#[test]
fn iban_detector_accepts_spaced_form() {
    assert_eq!(
        kinds(Detector::Iban, "pay DE89 3704 0044 0532 0130 00 please"),
        ["DE89 3704 0044 0532 0130 00"]
    );
    assert_eq!(
        kinds(Detector::Iban, "GB82WEST12345698765432"),
        ["GB82WEST12345698765432"]
    );
    assert!(kinds(Detector::Iban, "DE89 3704 0044 0532 0130 01").is_empty());
}

#[test]
fn ssn_detector_applies_ssa_rules() {
    assert_eq!(kinds(Detector::UsSsn, "ssn 123-45-6789."), ["123-45-6789"]);
    for bad in [
        "000-12-3456",
        "666-12-3456",
        "900-12-3456",
        "123-00-4567",
        "123-45-0000",
        "1234-56-7890",
    ] {
        assert!(kinds(Detector::UsSsn, bad).is_empty(), "{bad}");
    }
}

#[test]
fn secret_detector_finds_common_credentials() {
    let cases = [
        "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx1234",
        "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv-xyz",
        "AKIAIOSFODNN7EXAMPLE",
        "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
        "xoxb-1234567890-abcdefghij",
        "AIzaSyA-1234567890abcdefghijklmnopqrstu",
        "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc",
    ];
    for c in cases {
        let text = format!("token: {c} end");
        assert_eq!(kinds(Detector::Secret, &text), [c], "{c}");
    }
    assert!(kinds(
        Detector::Secret,
        "task-abcdefghijklmnopqrstuvwxyz and sk-short"
    )
    .is_empty());
}

#[test]
fn private_key_blocks_are_found_whole_or_by_header() {
    let block =
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc+/=\n-----END RSA PRIVATE KEY-----";
    assert_eq!(
        kinds(Detector::Secret, &format!("key:\n{block}\nthanks")),
        [block]
    );
    let partial = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq";
    assert_eq!(kinds(Detector::Secret, partial), [partial]);
}

#[test]
fn only_requested_detectors_run() {
    let mut out = Vec::new();
    find(
        &[Detector::Email],
        "mail a@example.com ssn 123-45-6789",
        &mut out,
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, "email");
}
