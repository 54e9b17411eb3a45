//! SigV4 tests: every header-form case of the AWS SigV4 test suite, the documented
//! signing-key derivation, and Bedrock requests cross-checked against botocore.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn example_creds(token: Option<&str>) -> AwsCredentials {
    AwsCredentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        session_token: token.map(str::to_owned),
    }
}

/// Inverse of `civil_from_days`, to parse the fixtures' ISO timestamps independently.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2015-08-30T12:36:00Z` → SystemTime.
fn parse_iso(ts: &str) -> SystemTime {
    let n = |r: std::ops::Range<usize>| ts[r].parse::<i64>().unwrap();
    let days = days_from_civil(n(0..4), n(5..7), n(8..10));
    let secs = days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19);
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap())
}

/// A request from the suite's `request.txt`: request line, headers (folded lines kept
/// with their newline, as on the wire), blank line, body.
struct SuiteRequest {
    method: String,
    path: String,
    query: String,
    host: String,
    headers: Vec<(String, String)>,
    body: String,
}

fn parse_request(raw: &str) -> SuiteRequest {
    let (head, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let target =
        &request_line[request_line.find(' ').unwrap() + 1..request_line.rfind(' ').unwrap()];
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().unwrap();
            last.1.push('\n');
            last.1.push_str(line);
        } else {
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_owned(), value.to_owned()));
        }
    }
    let host_at = headers
        .iter()
        .position(|(n, _)| n.eq_ignore_ascii_case("host"))
        .unwrap();
    let host = headers.remove(host_at).1;
    SuiteRequest {
        method: request_line[..request_line.find(' ').unwrap()].to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        host,
        headers,
        body: body.to_owned(),
    }
}

/// Header lines of the suite's signed request, keyed by lower-cased name.
fn signed_request_headers(raw: &str) -> HashMap<String, String> {
    raw.lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned()))
        .collect()
}

fn run_suite_case(dir: &Path) {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let ctx: Value = serde_json::from_str(&read(&dir.join("context.json"))).unwrap();
    let req = parse_request(&read(&dir.join("request.txt")));
    let creds = example_creds(ctx["credentials"]["token"].as_str());
    assert_eq!(
        ctx["credentials"]["access_key_id"],
        creds.access_key_id.as_str()
    );
    assert_eq!(
        ctx["credentials"]["secret_access_key"],
        creds.secret_access_key.as_str()
    );
    let opts = SigningOptions {
        content_sha256_header: ctx["sign_body"].as_bool().unwrap(),
        normalize_path: ctx["normalize"].as_bool().unwrap(),
        sign_session_token: !ctx["omit_session_token"].as_bool().unwrap_or(false),
    };
    let extra: Vec<(&str, &str)> = req
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let params = SigningParams {
        method: &req.method,
        host: &req.host,
        path: &req.path,
        query: &req.query,
        region: ctx["region"].as_str().unwrap(),
        service: ctx["service"].as_str().unwrap(),
        payload: req.body.as_bytes(),
        timestamp: parse_iso(ctx["timestamp"].as_str().unwrap()),
        extra_headers: &extra,
    };
    let steps = signing_steps(&creds, &params, &opts);
    let expect = |f: &str| read(&dir.join(f));
    assert_eq!(
        steps.canonical_request,
        expect("header-canonical-request.txt"),
        "{name}: canonical request"
    );
    assert_eq!(
        steps.string_to_sign,
        expect("header-string-to-sign.txt"),
        "{name}: string to sign"
    );

    let signed = signed_request_headers(&expect("header-signed-request.txt"));
    let ours: HashMap<&str, &str> = steps
        .headers
        .iter()
        .map(|(n, v)| (*n, v.as_str()))
        .collect();
    assert_eq!(
        ours["authorization"], signed["authorization"],
        "{name}: authorization"
    );
    assert!(
        ours["authorization"].ends_with(&expect("header-signature.txt")),
        "{name}"
    );
    for (header, value) in &ours {
        assert_eq!(
            signed.get(*header).map(String::as_str),
            Some(*value),
            "{name}: {header}"
        );
    }
    if opts == SigningOptions::default() {
        assert_eq!(
            sign(&creds, &params),
            steps.headers,
            "{name}: sign() == steps"
        );
    }
}

#[test]
fn aws_sigv4_test_suite_header_cases() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures().join("sigv4"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 36, "suite cases found: {}", dirs.len());
    for dir in &dirs {
        run_suite_case(dir);
    }
}

#[test]
fn documented_signing_key_derivation() {
    let v: Value = serde_json::from_str(&read(
        &fixtures().join("sigv4-derived-key/iam-20120215.json"),
    ))
    .unwrap();
    let s = |k: &str| v[k].as_str().unwrap();
    let k_date = hmac_sha256(
        format!("AWS4{}", s("secret_access_key")).as_bytes(),
        s("date").as_bytes(),
    );
    let k_region = hmac_sha256(&k_date, s("region").as_bytes());
    let k_service = hmac_sha256(&k_region, s("service").as_bytes());
    assert_eq!(hex::encode(k_date), s("k_date"));
    assert_eq!(hex::encode(k_region), s("k_region"));
    assert_eq!(hex::encode(k_service), s("k_service"));
    let k_signing = signing_key(s("secret_access_key"), s("date"), s("region"), s("service"));
    assert_eq!(hex::encode(k_signing), s("k_signing"));
}

#[test]
fn bedrock_requests_match_botocore() {
    let vectors: Vec<Value> = serde_json::from_str(&read(
        &fixtures().join("sigv4-bedrock/botocore-vectors.json"),
    ))
    .unwrap();
    assert_eq!(vectors.len(), 2);
    for v in &vectors {
        let s = |k: &str| v[k].as_str().unwrap();
        let creds = AwsCredentials {
            access_key_id: s("access_key_id").into(),
            secret_access_key: s("secret_access_key").into(),
            session_token: v["session_token"].as_str().map(str::to_owned),
        };
        let extra = [("Content-Type", s("content_type"))];
        let params = SigningParams {
            method: s("method"),
            host: s("host"),
            path: s("path"),
            query: s("query"),
            region: s("region"),
            service: s("service"),
            payload: s("payload").as_bytes(),
            timestamp: parse_iso(s("timestamp")),
            extra_headers: &extra,
        };
        let steps = signing_steps(&creds, &params, &SigningOptions::default());
        assert_eq!(
            steps.canonical_request,
            s("canonical_request"),
            "{}",
            s("name")
        );
        let headers = sign(&creds, &params);
        assert_eq!(
            headers[0],
            ("authorization", s("authorization").to_owned()),
            "{}",
            s("name")
        );
        assert_eq!(headers[1], ("x-amz-date", s("x_amz_date").to_owned()));
        let names: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
        let mut expected = vec!["authorization", "x-amz-date", "x-amz-content-sha256"];
        if creds.session_token.is_some() {
            expected.push("x-amz-security-token");
        }
        assert_eq!(names, expected);
    }
}

#[test]
fn model_ids_are_encoded_for_the_wire_and_again_for_signing() {
    let id = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0";
    let segment = encode_path_segment(id);
    assert_eq!(
        segment,
        "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-haiku-20240307-v1%3A0"
    );
    let wire = format!("/model/{segment}/converse");
    assert_eq!(canonical_uri(&wire, true), wire.replace('%', "%25"));
    // A raw colon on the wire is signed singly encoded.
    assert_eq!(
        canonical_uri("/model/a.b-v1:0/converse", true),
        "/model/a.b-v1%3A0/converse"
    );
    assert_eq!(encode_path_segment("a b/ü~"), "a%20b%2F%C3%BC~");
}

#[test]
fn paths_normalize_like_rfc3986() {
    let cases = [
        ("", "/"),
        ("/", "/"),
        ("/a/b/..", "/a/"),
        ("/a/./b/.", "/a/b/"),
        ("/a/../../b", "/b"),
        ("a/b", "/a/b"),
        ("//a//b", "/a/b"),
    ];
    for (path, canonical) in cases {
        assert_eq!(canonical_uri(path, true), canonical, "{path:?}");
    }
    assert_eq!(canonical_uri("a//b", false), "/a//b");
}

#[test]
fn query_signs_the_same_raw_or_encoded() {
    assert_eq!(canonical_query("b=2&a=x y&a=1"), "a=1&a=x%20y&b=2");
    assert_eq!(canonical_query("a=x%20y"), canonical_query("a=x y"));
    assert_eq!(canonical_query("?flag&k=%2f%zz"), "flag=&k=%2F%25zz");
    assert_eq!(canonical_query("&&"), "");
    assert_eq!(canonical_query("plus=a+b"), "plus=a%2Bb");
}

#[test]
fn caller_cannot_override_signer_headers() {
    let creds = example_creds(None);
    let base = SigningParams {
        method: "POST",
        host: "bedrock-runtime.us-east-1.amazonaws.com",
        path: "/model/m/converse",
        query: "",
        region: "us-east-1",
        service: "bedrock",
        payload: b"{}",
        timestamp: parse_iso("2024-05-30T12:36:00Z"),
        extra_headers: &[("content-type", "application/json")],
    };
    let reference = sign(&creds, &base);
    let hostile = [
        ("content-type", "application/json"),
        ("Host", "evil.example"),
        ("X-Amz-Date", "19990101T000000Z"),
        ("Authorization", "nope"),
    ];
    assert_eq!(
        sign(
            &creds,
            &SigningParams {
                extra_headers: &hostile,
                ..base
            }
        ),
        reference
    );
    // Any other extra header is signed, so changing its value changes the signature.
    let other = [("content-type", "text/plain")];
    assert_ne!(
        sign(
            &creds,
            &SigningParams {
                extra_headers: &other,
                ..base
            }
        ),
        reference
    );
}

#[test]
fn unsigned_session_token_is_still_returned() {
    let creds = example_creds(Some("TOKEN"));
    let params = SigningParams {
        method: "GET",
        host: "example.amazonaws.com",
        path: "/",
        query: "",
        region: "us-east-1",
        service: "service",
        payload: b"",
        timestamp: parse_iso("2015-08-30T12:36:00Z"),
        extra_headers: &[],
    };
    let opts = SigningOptions {
        sign_session_token: false,
        ..SigningOptions::default()
    };
    let headers = sign_with(&creds, &params, &opts);
    assert!(headers.contains(&("x-amz-security-token", "TOKEN".to_owned())));
    assert!(headers[0]
        .1
        .contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date,"));
    let signed = sign(&creds, &params);
    assert!(signed[0]
        .1
        .contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"));
}

#[test]
fn amz_date_formats_utc_calendar_dates() {
    let cases = [
        (0, "19700101T000000Z"),
        (951_782_400, "20000229T000000Z"),
        (1_440_938_160, "20150830T123600Z"),
        (1_709_164_800, "20240229T000000Z"),
        (4_107_542_400, "21000301T000000Z"),
        (1_735_689_599, "20241231T235959Z"),
    ];
    for (secs, text) in cases {
        assert_eq!(
            format_amz_date(UNIX_EPOCH + Duration::from_secs(secs)),
            text
        );
        assert_eq!(
            parse_iso(&format!(
                "{}-{}-{}T{}:{}:{}Z",
                &text[0..4],
                &text[4..6],
                &text[6..8],
                &text[9..11],
                &text[11..13],
                &text[13..15]
            )),
            UNIX_EPOCH + Duration::from_secs(secs)
        );
    }
    assert_eq!(
        format_amz_date(UNIX_EPOCH - Duration::from_secs(5)),
        "19700101T000000Z"
    );
}

#[test]
fn debug_never_shows_secrets() {
    let creds = example_creds(Some("SESSIONTOKENVALUE"));
    let shown = format!("{creds:?} {creds:#?}");
    assert!(shown.contains("AKIDEXAMPLE"));
    assert!(!shown.contains("EXAMPLEKEY"));
    assert!(!shown.contains("SESSIONTOKENVALUE"));
}

#[test]
fn credentials_come_from_the_standard_variables() {
    let env = |pairs: &[(&str, &str)]| {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        credentials_from(move |name| map.get(name).cloned())
    };
    assert_eq!(env(&[]), None);
    assert_eq!(env(&[("AWS_ACCESS_KEY_ID", "AKID")]), None);
    assert_eq!(
        env(&[("AWS_ACCESS_KEY_ID", "AKID"), ("AWS_SECRET_ACCESS_KEY", "")]),
        None
    );
    let full = env(&[
        ("AWS_ACCESS_KEY_ID", "AKID"),
        ("AWS_SECRET_ACCESS_KEY", "SECRET"),
        ("AWS_SESSION_TOKEN", ""),
    ])
    .unwrap();
    assert_eq!(
        full,
        AwsCredentials {
            access_key_id: "AKID".into(),
            secret_access_key: "SECRET".into(),
            session_token: None
        }
    );
    let temp = env(&[
        ("AWS_ACCESS_KEY_ID", "AKID"),
        ("AWS_SECRET_ACCESS_KEY", "SECRET"),
        ("AWS_SESSION_TOKEN", "TOKEN"),
    ])
    .unwrap();
    assert_eq!(temp.session_token.as_deref(), Some("TOKEN"));
}
