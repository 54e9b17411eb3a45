//! AWS Signature Version 4 request signing, header form, without the AWS SDK.
//!
//! The steps are the documented ones (AWS IAM user guide, "Create a signed AWS API
//! request"): canonical request → string to sign → HMAC chain over the credential scope
//! `date/region/service/aws4_request` → hex signature in the `Authorization` header.
//!
//! Decisions that matter for Bedrock:
//! - [`SigningParams::path`] is the path exactly as it goes on the wire, already
//!   percent-encoded. Like the AWS SDKs for every service except S3, the canonical URI
//!   encodes each segment of it once more ("double encoding"). A model id such as
//!   `anthropic.claude-3-haiku-20240307-v1:0` is therefore sent as `…-v1%3A0` (build the
//!   segment with [`encode_path_segment`]) and signed as `…-v1%253A0`, which is what
//!   Bedrock verifies against. ARNs with `/` become `%2F` on the wire the same way.
//! - The path is normalized first (empty, `.` and `..` segments removed), as for every
//!   service but S3.
//! - Each query name and value is percent-decoded, then re-encoded with the strict
//!   SigV4 set and sorted by name then value, so an encoded and a raw query sign alike.
//! - `x-amz-content-sha256` is always sent and signed by [`sign`]; Bedrock accepts it and
//!   it lets anything in between check the body. The payload is hashed on every call:
//!   SHA-256 of a multi-MiB body is the dominant cost of signing.
//! - Every header in [`SigningParams::extra_headers`] is signed, so it must be sent
//!   unchanged. Names this module sets itself (`host`, `authorization`, `x-amz-date`,
//!   `x-amz-content-sha256`, `x-amz-security-token`) are ignored there.
//!
//! Not covered: S3's single-encoding rules and chunked uploads, presigned URLs (the
//! query form), SigV4a. The signing key is derived on every call (four HMACs); caching
//! it per day would save about a microsecond and is not worth the shared state.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Header names set by the signer; a caller-supplied header of the same name is dropped.
const SIGNER_HEADERS: [&str; 5] = [
    "host",
    "authorization",
    "x-amz-date",
    "x-amz-content-sha256",
    "x-amz-security-token",
];

/// Long-term (access key) or temporary (with session token) AWS credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

// The access key id identifies the key and appears in every Authorization header, so it
// may be shown; the secret and the session token never are.
impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and, optionally,
/// `AWS_SESSION_TOKEN`. `None` when the key id or the secret is missing or empty.
pub fn credentials_from_env() -> Option<AwsCredentials> {
    credentials_from(|name| std::env::var(name).ok())
}

/// [`credentials_from_env`] over any variable lookup (tests use a map, not the process env).
fn credentials_from(var: impl Fn(&str) -> Option<String>) -> Option<AwsCredentials> {
    let non_empty = |name: &str| var(name).filter(|v| !v.is_empty());
    Some(AwsCredentials {
        access_key_id: non_empty("AWS_ACCESS_KEY_ID")?,
        secret_access_key: non_empty("AWS_SECRET_ACCESS_KEY")?,
        session_token: non_empty("AWS_SESSION_TOKEN"),
    })
}

/// What is signed: one HTTP request as it will be sent.
#[derive(Clone, Copy)]
pub struct SigningParams<'a> {
    /// HTTP method, upper case (`POST`).
    pub method: &'a str,
    /// Value of the `Host` header (`bedrock-runtime.us-east-1.amazonaws.com`).
    pub host: &'a str,
    /// Path as sent on the wire, percent-encoded, without the query.
    pub path: &'a str,
    /// Query string without the leading `?`; empty when there is none.
    pub query: &'a str,
    /// AWS region (`us-east-1`).
    pub region: &'a str,
    /// Signing name of the service (`bedrock` for Bedrock runtime).
    pub service: &'a str,
    /// The exact body bytes that will be sent.
    pub payload: &'a [u8],
    /// Signing time; AWS rejects signatures more than 5 minutes off its clock.
    pub timestamp: SystemTime,
    /// Further headers to sign (such as `content-type`); they must be sent unchanged.
    pub extra_headers: &'a [(&'a str, &'a str)],
}

/// Variations of the signing rules. [`Default`] is what [`sign`] uses and what Bedrock
/// (and every AWS service but S3) expects; the others exist for the cases of the AWS
/// SigV4 test suite that turn them off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigningOptions {
    /// Send and sign `x-amz-content-sha256`.
    pub content_sha256_header: bool,
    /// Remove empty, `.` and `..` path segments before signing.
    pub normalize_path: bool,
    /// Sign `x-amz-security-token` (otherwise it is only added after signing).
    pub sign_session_token: bool,
}

impl Default for SigningOptions {
    fn default() -> Self {
        SigningOptions {
            content_sha256_header: true,
            normalize_path: true,
            sign_session_token: true,
        }
    }
}

/// Signs a request. Returns the headers to add to it: `authorization`, `x-amz-date`,
/// `x-amz-content-sha256`, and `x-amz-security-token` when the credentials carry a
/// session token. The caller sends `Host` and every extra header as given in `p`.
pub fn sign(creds: &AwsCredentials, p: &SigningParams) -> Vec<(&'static str, String)> {
    sign_with(creds, p, &SigningOptions::default())
}

/// [`sign`] with explicit [`SigningOptions`].
pub fn sign_with(
    creds: &AwsCredentials,
    p: &SigningParams,
    opts: &SigningOptions,
) -> Vec<(&'static str, String)> {
    signing_steps(creds, p, opts).headers
}

/// Percent-encodes one path segment with the strict SigV4 set (everything but
/// `A-Z a-z 0-9 - . _ ~`), for building wire paths: `/model/{segment}/converse-stream`.
pub fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len() + 8);
    uri_encode_into(&mut out, segment.as_bytes());
    out
}

/// Every intermediate result of one signature, so tests can compare each step with the
/// AWS test suite instead of only the final header.
// Only the tests read the intermediate steps; production keeps just the headers.
#[cfg_attr(not(test), allow(dead_code))]
struct SigningSteps {
    canonical_request: String,
    string_to_sign: String,
    headers: Vec<(&'static str, String)>,
}

fn signing_steps(creds: &AwsCredentials, p: &SigningParams, opts: &SigningOptions) -> SigningSteps {
    let amz_date = format_amz_date(p.timestamp);
    let date = amz_date.get(..8).unwrap_or_default();
    let payload_hash = hex::encode(Sha256::digest(p.payload));
    let token = creds.session_token.as_deref().filter(|t| !t.is_empty());

    let mut signed: Vec<(&'static str, &str)> = vec![("x-amz-date", &amz_date)];
    if opts.content_sha256_header {
        signed.push(("x-amz-content-sha256", &payload_hash));
    }
    if let (Some(token), true) = (token, opts.sign_session_token) {
        signed.push(("x-amz-security-token", token));
    }
    let (canonical_request, signed_headers) = canonical_request(p, &signed, &payload_hash, opts);

    let scope = format!("{date}/{}/{}/aws4_request", p.region, p.service);
    let digest = hex::encode(Sha256::digest(canonical_request.as_bytes()));
    let string_to_sign = format!("{ALGORITHM}\n{amz_date}\n{scope}\n{digest}");
    let key = signing_key(&creds.secret_access_key, date, p.region, p.service);
    let signature = hex::encode(hmac_sha256(&key, string_to_sign.as_bytes()));
    let authorization = format!(
        "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        creds.access_key_id
    );

    let mut headers = vec![("authorization", authorization)];
    headers.extend(
        signed
            .iter()
            .map(|(name, value)| (*name, value.to_string())),
    );
    if let (Some(token), false) = (token, opts.sign_session_token) {
        headers.push(("x-amz-security-token", token.to_owned()));
    }
    SigningSteps {
        canonical_request,
        string_to_sign,
        headers,
    }
}

/// Builds the canonical request; returns it with the `;`-joined signed header names.
fn canonical_request(
    p: &SigningParams,
    signer_headers: &[(&'static str, &str)],
    payload_hash: &str,
    opts: &SigningOptions,
) -> (String, String) {
    let (headers, signed_headers) = canonical_headers(p, signer_headers);
    let request = format!(
        "{}\n{}\n{}\n{headers}\n{signed_headers}\n{payload_hash}",
        p.method,
        canonical_uri(p.path, opts.normalize_path),
        canonical_query(p.query),
    );
    (request, signed_headers)
}

/// Lower-cased names sorted, values trimmed with inner whitespace runs collapsed, and
/// repeated names joined with `,` in the order they were given. Returns the
/// newline-terminated header block and the signed header list.
fn canonical_headers(p: &SigningParams, signer_headers: &[(&str, &str)]) -> (String, String) {
    let mut all: Vec<(String, String)> =
        Vec::with_capacity(1 + signer_headers.len() + p.extra_headers.len());
    all.push(("host".to_owned(), collapse_whitespace(p.host)));
    all.extend(
        signer_headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), collapse_whitespace(v))),
    );
    for (name, value) in p.extra_headers {
        let name = name.trim().to_ascii_lowercase();
        if !SIGNER_HEADERS.contains(&name.as_str()) {
            all.push((name, collapse_whitespace(value)));
        }
    }
    // Stable sort: repeated names keep their relative order, as the spec requires.
    all.sort_by(|a, b| a.0.cmp(&b.0));

    let mut block = String::new();
    let mut names = String::new();
    for group in all.chunk_by(|a, b| a.0 == b.0) {
        let name = &group[0].0;
        block.push_str(name);
        block.push(':');
        for (i, (_, value)) in group.iter().enumerate() {
            if i > 0 {
                block.push(',');
            }
            block.push_str(value);
        }
        block.push('\n');
        if !names.is_empty() {
            names.push(';');
        }
        names.push_str(name);
    }
    (block, names)
}

fn collapse_whitespace(value: &str) -> String {
    value.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

/// Each path segment URI-encoded (again, for an already encoded wire path); with
/// `normalize`, dot and empty segments are resolved first (RFC 3986 §5.2.4).
fn canonical_uri(path: &str, normalize: bool) -> String {
    let mut out = String::with_capacity(path.len() + 16);
    if !normalize {
        if !path.starts_with('/') {
            out.push('/');
        }
        for (i, segment) in path.split('/').enumerate() {
            if i > 0 {
                out.push('/');
            }
            uri_encode_into(&mut out, segment.as_bytes());
        }
        return out;
    }
    let (segments, trailing_slash) = normalized_segments(path);
    for segment in &segments {
        out.push('/');
        uri_encode_into(&mut out, segment.as_bytes());
    }
    if segments.is_empty() || trailing_slash {
        out.push('/');
    }
    out
}

/// Path segments with `.`, `..` and empty ones resolved, and whether the path ends in a
/// directory (`/a/`, `/a/.`, `/a/b/..`).
fn normalized_segments(path: &str) -> (Vec<&str>, bool) {
    let mut stack = Vec::new();
    let mut trailing_slash = false;
    for segment in path.split('/') {
        match segment {
            "" | "." => trailing_slash = true,
            ".." => {
                stack.pop();
                trailing_slash = true;
            }
            s => {
                stack.push(s);
                trailing_slash = false;
            }
        }
    }
    (stack, trailing_slash)
}

/// `name=value` pairs decoded, strictly re-encoded, sorted by name then value, `&`-joined.
fn canonical_query(query: &str) -> String {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (reencode(name), reencode(value))
        })
        .collect();
    pairs.sort();
    let mut out = String::with_capacity(query.len() + 8);
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

fn reencode(component: &str) -> String {
    let mut out = String::with_capacity(component.len() + 8);
    uri_encode_into(&mut out, &percent_decode(component));
    out
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits stays as it is.
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&hi), Some(&lo)) => hex_value(hi).zip(hex_value(lo)),
            _ => None,
        };
        match escaped {
            Some((hi, lo)) => {
                out.push(hi << 4 | lo);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Appends `bytes` percent-encoded: unreserved characters as they are, everything else
/// (`/` included) as `%XX` with upper-case hex, as SigV4 requires.
fn uri_encode_into(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}

/// kSecret → kDate → kRegion → kService → kSigning.
fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length (RFC 2104), so `new_from_slice` never fails for it;
    // the error arm exists only because the trait is shared with fixed-key MACs.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return [0; 32];
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// `YYYYMMDDTHHMMSSZ` in UTC; times before 1970 are clamped to the epoch.
fn format_amz_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (year, month, day) = civil_from_days(secs / 86_400);
    let rem = secs % 86_400;
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`, restricted to dates after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
#[path = "sigv4_tests.rs"]
mod tests;
