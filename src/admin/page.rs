//! `GET /`: the status page, one self-contained HTML document (inline style and
//! script, no external asset, no font, no CDN) that polls `/admin/status` and renders
//! it live.
//!
//! How it authenticates: the HTML holds no data, so it is served without the token;
//! every number on it comes from `/admin/status`, which requires the admin token like
//! all of `/admin/`. The operator opens `http://admin:9090/#token=<admin token>`: the
//! fragment never leaves the browser (not sent, not in access or proxy logs), the
//! script keeps the token in a variable, removes it from the address bar and sends it
//! as `Authorization: Bearer` on each fetch. Without one (or after a 401) the page asks
//! for it. No cookie and no storage: a cookie would be sent by the browser on any
//! cross-site request to the admin plane, making `POST /admin/reload` forgeable.
//!
//! A strict Content-Security-Policy allows only this page's own script and style
//! (by their SHA-256) and fetches to its own origin.

use base64::Engine as _;
use http::{Response, StatusCode};
use once_cell::sync::Lazy;
use sha2::{Digest, Sha256};

const TEMPLATE: &str = include_str!("status_page/page.html");
const STYLE: &str = include_str!("status_page/page.css");
const SCRIPT: &str = include_str!("status_page/page.js");

/// The assembled page and its Content-Security-Policy.
static PAGE: Lazy<(Vec<u8>, String)> = Lazy::new(|| {
    let html = TEMPLATE
        .replace("/*STYLE*/", STYLE)
        .replace("/*SCRIPT*/", SCRIPT);
    let csp = format!(
        "default-src 'none'; script-src '{}'; style-src '{}'; connect-src 'self'; \
         img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        sha256_source(SCRIPT),
        sha256_source(STYLE)
    );
    (html.into_bytes(), csp)
});

/// A CSP hash source: `sha256-<base64 of the digest>`.
fn sha256_source(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

pub fn response() -> Response<Vec<u8>> {
    let (body, csp) = &*PAGE;
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/html; charset=utf-8")
        .header("content-length", body.len())
        .header("content-security-policy", csp.as_str())
        .header("cache-control", "no-store")
        .header("referrer-policy", "no-referrer")
        .header("x-content-type-options", "nosniff")
        .header("x-frame-options", "DENY")
        .body(body.clone())
        .unwrap_or_else(|_| Response::new(Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_self_contained_and_its_policy_names_its_code() {
        let (body, csp) = &*PAGE;
        let html = String::from_utf8(body.clone()).unwrap();
        assert!(!html.contains("/*SCRIPT*/") && !html.contains("/*STYLE*/"));
        for external in ["src=\"http", "href=\"http", "@import", "url(http", "//cdn"] {
            assert!(!html.contains(external), "{external}");
        }
        assert!(csp.contains(&sha256_source(SCRIPT)));
        assert!(csp.contains("default-src 'none'"));
        assert!(!csp.contains("unsafe-inline"));
    }
}
