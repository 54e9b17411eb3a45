//! The request side, before any upstream is chosen: which API the path asks for,
//! reading the body within its limit, and finding the routes for its `model`.

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use crate::config::client::ClientLimits;
use crate::edge::body::{self, Reservation};
use crate::edge::header_value;
use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, EXPECT};
use http::HeaderValue;
use pingora::Result;
use pingora_proxy::Session;

use crate::error::{Dialect, ErrorKind, GatewayError};
use crate::providers::Api;

/// What a request path and method ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Api(Api),
    ListModels,
    /// `GET /v1/models/{id}` or `/v1beta/models/{model}`: one entry of the list.
    GetModel,
    /// `GET` / `DELETE /v1/responses/{id}`, `GET .../input_items`: a stored Response.
    StoredResponse,
}

/// A Gemini path served for `GET` only.
fn gemini_get(
    method: &http::Method,
    path: &str,
    endpoint: Endpoint,
) -> Result<(Endpoint, Dialect), (GatewayError, Dialect)> {
    if method == http::Method::GET {
        return Ok((endpoint, Dialect::Gemini));
    }
    let err = GatewayError::new(
        ErrorKind::MethodNotAllowed,
        format!("Method {method} is not allowed on {path}"),
    );
    Err((err, Dialect::Gemini))
}

/// Classify a request. The `/v1` prefix is optional, as in the OpenAI SDKs' base
/// URL conventions. Errors carry the dialect the client most likely speaks.
pub fn classify(
    method: &http::Method,
    path: &str,
) -> Result<(Endpoint, Dialect), (GatewayError, Dialect)> {
    let path = path.split('?').next().unwrap_or("");
    if path.trim_end_matches('/') == "/v1beta/models" {
        return gemini_get(method, path, Endpoint::ListModels);
    }
    if model_in_path(path).is_some() && path.starts_with("/v1beta/") {
        return gemini_get(method, path, Endpoint::GetModel);
    }
    if let Some(call) = gemini_call(path) {
        let api = call.map_err(|err| (err, Dialect::Gemini))?.api;
        if method != http::Method::POST {
            let err = GatewayError::new(
                ErrorKind::MethodNotAllowed,
                format!("Method {method} is not allowed on {path}"),
            );
            return Err((err, Dialect::Gemini));
        }
        return Ok((Endpoint::Api(api), Dialect::Gemini));
    }
    let path = path.strip_prefix("/v1").unwrap_or(path);
    let path = path.trim_end_matches('/');
    let (endpoint, dialect, method_ok) = match path {
        "/chat/completions" => (
            Endpoint::Api(Api::ChatCompletions),
            Dialect::OpenAi,
            method == http::Method::POST,
        ),
        "/embeddings" => (
            Endpoint::Api(Api::Embeddings),
            Dialect::OpenAi,
            method == http::Method::POST,
        ),
        "/messages" => (
            Endpoint::Api(Api::Messages),
            Dialect::Anthropic,
            method == http::Method::POST,
        ),
        "/messages/count_tokens" => (
            Endpoint::Api(Api::CountTokens),
            Dialect::Anthropic,
            method == http::Method::POST,
        ),
        "/responses" => (
            Endpoint::Api(Api::Responses),
            Dialect::OpenAiResponses,
            method == http::Method::POST,
        ),
        "/models" => (
            Endpoint::ListModels,
            Dialect::OpenAi,
            method == http::Method::GET,
        ),
        _ if path.starts_with("/models/") => (
            Endpoint::GetModel,
            Dialect::OpenAi,
            method == http::Method::GET,
        ),
        _ if let Some(at) = crate::conversations::stored_path(path) => (
            Endpoint::StoredResponse,
            Dialect::OpenAiResponses,
            method == http::Method::GET || (method == http::Method::DELETE && !at.input_items),
        ),
        _ => {
            let dialect = if path.starts_with("/messages") {
                Dialect::Anthropic
            } else if path.starts_with("beta/") {
                // `/v1beta/...`: Google's API version prefix.
                Dialect::Gemini
            } else {
                Dialect::OpenAi
            };
            let err = GatewayError::new(
                ErrorKind::RouteNotFound,
                format!("Unknown request URL: {method} {path}"),
            );
            return Err((err, dialect));
        }
    };
    if !method_ok {
        let err = GatewayError::new(
            ErrorKind::MethodNotAllowed,
            format!("Method {method} is not allowed on {path}"),
        );
        return Err((err, dialect));
    }
    Ok((endpoint, dialect))
}

/// A Gemini call named by its path, `/v1beta/models/{model}:{method}` (or `/v1/`).
/// The model is the whole segment run before the last `:`, so `provider/model`
/// names work as they do in a body's `model` field (the `google-genai` SDK writes
/// `models/openai/gpt-4o` for `model="openai/gpt-4o"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeminiCall {
    pub model: String,
    pub api: Api,
    /// `streamGenerateContent`.
    pub stream: bool,
}

/// Longest model name taken from a path.
const MAX_PATH_MODEL: usize = 256;

/// `None` when the path is not a Gemini model call; an error when it is one with an
/// unknown method or an unusable model name.
pub fn gemini_call(path: &str) -> Option<std::result::Result<GeminiCall, GatewayError>> {
    let (rest, beta) = match path.strip_prefix("/v1beta/models/") {
        Some(rest) => (rest, true),
        None => (path.strip_prefix("/v1/models/")?, false),
    };
    let (model, method) = rest.rsplit_once(':')?;
    let (api, stream) = match method {
        "generateContent" => (Api::GenerateContent, false),
        "streamGenerateContent" => (Api::GenerateContent, true),
        "countTokens" => (Api::CountTokens, false),
        "embedContent" => (Api::EmbedContent, false),
        "batchEmbedContents" => (Api::Embeddings, false),
        // Under `/v1/models/` an unknown method may be an OpenAI model id with colons
        // (`ft:gpt-4o:org:id`): left to the OpenAI routes.
        _ if !beta => return None,
        _ => {
            return Some(Err(GatewayError::new(
                ErrorKind::RouteNotFound,
                format!("Method `{}` is not served", printable(method)),
            )))
        }
    };
    let model = percent_decode(model);
    if model.is_empty() || model.len() > MAX_PATH_MODEL || model.chars().any(char::is_control) {
        return Some(Err(GatewayError::invalid(
            "the model name in the path is empty, too long or not printable",
        )));
    }
    Some(Ok(GeminiCall { model, api, stream }))
}

/// The model of a `GET /v1/models/{id}` or `/v1beta/models/{model}` path: the rest of
/// the path, decoded (`provider/model` names keep their slash); `None` for no model,
/// or under `/v1beta/` a path that names a method (`...:generateContent`). OpenAI ids
/// may hold colons (`ft:gpt-4o:org:id`).
pub fn model_in_path(path: &str) -> Option<String> {
    let path = path.split('?').next().unwrap_or("");
    let (rest, google) = match path.strip_prefix("/v1beta/models/") {
        Some(rest) => (rest, true),
        None => (
            path.strip_prefix("/v1/models/")
                .or_else(|| path.strip_prefix("/models/"))?,
            false,
        ),
    };
    let model = percent_decode(rest.trim_end_matches('/'));
    let names_a_method = google && model.contains(':');
    let usable = !model.is_empty()
        && !names_a_method
        && model.len() <= MAX_PATH_MODEL
        && !model.chars().any(char::is_control);
    usable.then_some(model)
}

/// `%XX` escapes decoded; anything malformed is kept as it is.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A client-chosen name in an error message: bounded and printable.
fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}

fn too_large(max: usize) -> GatewayError {
    GatewayError::new(
        ErrorKind::PayloadTooLarge,
        format!("Request body is larger than the limit of {max} bytes"),
    )
}

/// Read the whole request body, refusing more than `max` bytes. A declared
/// `Content-Length` over the limit is refused before reading anything.
///
/// `Expect: 100-continue` is answered here (Pingora leaves it to the upstream, but we
/// read the body before there is an upstream): without it curl waits a second before
/// sending large bodies. Writing the 100 would turn keep-alive off, so the
/// close-on-early-response rule is suspended around it.
pub async fn read_body(
    session: &mut Session,
    max: usize,
    client: &ClientLimits,
) -> Result<std::result::Result<Bytes, GatewayError>> {
    let declared = declared_length(session);
    if declared.is_some_and(|len| len > max) {
        return Ok(Err(too_large(max)));
    }
    let mut reservation = Reservation::default();
    let initial = declared.unwrap_or(8 * 1024).min(max);
    if !reservation.grow_to(initial, client.body_memory_bytes) {
        return Ok(Err(body::over_budget()));
    }
    let expects_continue = session
        .req_header()
        .headers
        .get(EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if expects_continue {
        session
            .as_mut()
            .set_close_on_response_before_downstream_finish(false);
        session.as_mut().write_continue_response().await?;
        session.req_header_mut().remove_header(&EXPECT);
    }
    let mut buf = BytesMut::with_capacity(initial);
    // The body clock is ours (`read_within`); Pingora's per-read timeout would only
    // read the clock once more per read. Restored after: Pingora's own reads of a
    // body (draining one that was never read) keep it.
    let pingora_timeout = session.get_read_timeout();
    session.set_read_timeout(None);
    let read = read_chunks(session, &mut buf, &mut reservation, max, client).await;
    session.set_read_timeout(pingora_timeout);
    if expects_continue {
        session
            .as_mut()
            .set_close_on_response_before_downstream_finish(true);
    }
    Ok(read.map(|()| body::seal(buf, reservation)))
}

/// The body's chunks into `buf`, each within the body clock, the whole within `max`
/// and the memory budget.
async fn read_chunks(
    session: &mut Session,
    buf: &mut BytesMut,
    reservation: &mut Reservation,
    max: usize,
    client: &ClientLimits,
) -> std::result::Result<(), GatewayError> {
    loop {
        let chunk = match read_within(session, client.body_timeout).await {
            Err(_) => return Err(body::stalled(client.body_timeout)),
            Ok(Err(e)) => return Err(body::unreadable(&e)),
            Ok(Ok(None)) => return Ok(()),
            Ok(Ok(Some(chunk))) => chunk,
        };
        if buf.len() + chunk.len() > max {
            return Err(too_large(max));
        }
        buf.reserve(chunk.len());
        if !reservation.grow_to(buf.capacity(), client.body_memory_bytes) {
            return Err(body::over_budget());
        }
        buf.extend_from_slice(&chunk);
    }
}

/// One read of the body within `limit`. A read that completes at once (a small body
/// arrives with the head) needs no timer: tokio's would read the clock and take a
/// reference on the runtime's handle, a count every worker thread writes.
async fn read_within(
    session: &mut Session,
    limit: Duration,
) -> std::result::Result<Result<Option<Bytes>>, tokio::time::error::Elapsed> {
    let mut read = std::pin::pin!(session.read_request_body());
    let first = std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
    match first {
        Poll::Ready(out) => Ok(out),
        Poll::Pending => tokio::time::timeout(limit, read).await,
    }
}

fn declared_length(session: &Session) -> Option<usize> {
    session
        .req_header()
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// A request's id: the client's `x-request-id` when it is sane, else a new one. Kept
/// as the header value it is sent in (upstream and back to the client), which is
/// also its text.
#[derive(Debug, Clone)]
pub struct RequestId(HeaderValue);

impl Default for RequestId {
    fn default() -> Self {
        RequestId(HeaderValue::from_static(""))
    }
}

impl RequestId {
    /// The id as text (only visible ASCII is ever kept).
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or("")
    }

    /// The `x-request-id` value.
    pub fn value(&self) -> &HeaderValue {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for RequestId {
    fn from(s: &str) -> Self {
        RequestId(header_value::text(s))
    }
}

pub fn request_id(session: &Session) -> RequestId {
    let given = session
        .req_header()
        .headers
        .get(crate::edge::heads::X_REQUEST_ID)
        .filter(|v| sane_request_id(v.as_bytes()));
    match given {
        Some(v) => RequestId(v.clone()),
        None => RequestId(new_request_id()),
    }
}

fn sane_request_id(v: &[u8]) -> bool {
    !v.is_empty() && v.len() <= 128 && v.iter().all(|b| b.is_ascii_graphic())
}

/// Ids a thread takes from the process's counter at once: the counter is a cache line
/// both worker threads write, once per this many requests instead of once each.
const ID_BLOCK: u64 = 1024;

/// The next id number: unique per process run (blocks of the shared counter).
fn next_id_number() -> u64 {
    use std::cell::Cell;
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        /// The next number of this thread's block, and the block's end.
        static BLOCK: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    }
    BLOCK.with(|block| {
        let (mut next, mut end) = block.get();
        if next == end {
            next = COUNTER.fetch_add(ID_BLOCK, Ordering::Relaxed);
            end = next + ID_BLOCK;
        }
        block.set((next + 1, end));
        next
    })
}

/// Unique per process run: a random-ish boot prefix and a number.
fn new_request_id() -> HeaderValue {
    use once_cell::sync::Lazy;
    static BOOT: Lazy<u64> = Lazy::new(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        t ^ (std::process::id() as u64).rotate_left(32)
    });
    let n = next_id_number();
    // At least 8 digits, more once the number passes 2^32: ids never repeat.
    let digits = 8.max((u64::BITS - n.leading_zeros()).div_ceil(4));
    // `req_` and the hex digits, written directly (the formatter cost 770
    // instructions a request) into a buffer of exactly their length, which the
    // header value then keeps without a copy.
    let mut id = Vec::with_capacity(4 + 12 + digits as usize);
    id.extend_from_slice(b"req_");
    push_hex(&mut id, *BOOT & 0xffff_ffff_ffff, 12);
    push_hex(&mut id, n, digits);
    HeaderValue::from_maybe_shared(bytes::Bytes::from(id))
        .unwrap_or_else(|_| HeaderValue::from_static("req_"))
}

/// The low `width` hex digits of `n`, zero-padded, lower case.
fn push_hex(out: &mut Vec<u8>, n: u64, width: u32) {
    for shift in (0..width).rev() {
        let digit = ((n >> (4 * shift)) & 0xf) as u8;
        out.push(if digit < 10 {
            b'0' + digit
        } else {
            b'a' + digit - 10
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_known_paths_with_and_without_v1() {
        let post = http::Method::POST;
        assert_eq!(
            classify(&post, "/v1/chat/completions").unwrap(),
            (Endpoint::Api(Api::ChatCompletions), Dialect::OpenAi)
        );
        assert_eq!(
            classify(&post, "/chat/completions").unwrap().0,
            Endpoint::Api(Api::ChatCompletions)
        );
        assert_eq!(
            classify(&post, "/v1/messages?beta=true").unwrap(),
            (Endpoint::Api(Api::Messages), Dialect::Anthropic)
        );
        assert_eq!(
            classify(&http::Method::GET, "/v1/models").unwrap().0,
            Endpoint::ListModels
        );
        assert_eq!(
            classify(&post, "/v1/responses").unwrap(),
            (Endpoint::Api(Api::Responses), Dialect::OpenAiResponses)
        );
        let (err, _) = classify(&http::Method::GET, "/v1/responses").unwrap_err();
        assert_eq!(err.status(), 405);
        assert_eq!(
            classify(&http::Method::DELETE, "/v1/responses/resp_1").unwrap(),
            (Endpoint::StoredResponse, Dialect::OpenAiResponses)
        );
        let (err, _) = classify(&post, "/v1/responses/resp_1").unwrap_err();
        assert_eq!(err.status(), 405);
    }

    #[test]
    fn one_model_is_got_by_its_path_in_either_api() {
        let get = http::Method::GET;
        assert_eq!(
            classify(&get, "/v1beta/models/gemini-2.0-flash").unwrap(),
            (Endpoint::GetModel, Dialect::Gemini)
        );
        assert_eq!(
            classify(&get, "/v1/models/gpt-4o").unwrap(),
            (Endpoint::GetModel, Dialect::OpenAi)
        );
        let (err, dialect) = classify(&http::Method::POST, "/v1beta/models/m").unwrap_err();
        assert_eq!((err.status(), dialect), (405, Dialect::Gemini));
        assert_eq!(
            model_in_path("/v1beta/models/openai%2Fgpt-4o").as_deref(),
            Some("openai/gpt-4o")
        );
        assert_eq!(
            model_in_path("/v1beta/models/openai/gpt-4o/").as_deref(),
            Some("openai/gpt-4o")
        );
        assert_eq!(
            model_in_path("/v1/models/ft:gpt-4o:org:1").as_deref(),
            Some("ft:gpt-4o:org:1")
        );
        assert_eq!(model_in_path("/v1beta/models/m:predict"), None);
        assert_eq!(model_in_path("/v1/models/"), None);
    }

    #[test]
    fn gemini_paths_name_model_and_method() {
        let post = http::Method::POST;
        assert_eq!(
            classify(&post, "/v1beta/models/gemini-2.0-flash:generateContent").unwrap(),
            (Endpoint::Api(Api::GenerateContent), Dialect::Gemini)
        );
        let call = |p| gemini_call(p).unwrap().unwrap();
        let c = call("/v1beta/models/openai/gpt-4o:streamGenerateContent");
        assert_eq!(
            (c.model.as_str(), c.api, c.stream),
            ("openai/gpt-4o", Api::GenerateContent, true)
        );
        assert_eq!(call("/v1/models/m%2Fx:countTokens").model, "m/x");
        assert_eq!(call("/v1beta/models/e:embedContent").api, Api::EmbedContent);
        assert_eq!(
            call("/v1beta/models/e:batchEmbedContents").api,
            Api::Embeddings
        );
        let (err, dialect) = classify(&post, "/v1beta/models/m:predict").unwrap_err();
        assert_eq!((err.status(), dialect), (404, Dialect::Gemini));
        let (err, _) =
            classify(&http::Method::GET, "/v1beta/models/m:generateContent").unwrap_err();
        assert_eq!(err.status(), 405);
        let (err, _) = classify(&post, "/v1beta/models/:generateContent").unwrap_err();
        assert_eq!(err.status(), 400);
        let (_, dialect) = classify(&post, "/v1beta/cachedContents").unwrap_err();
        assert_eq!(dialect, Dialect::Gemini);
        // Not a model call: the OpenAI routes are untouched.
        assert!(gemini_call("/v1/models").is_none());
        assert!(gemini_call("/v1/models/ft:gpt-4o:org:x1").is_none());
        assert_eq!(
            classify(&http::Method::GET, "/v1beta/models?pageSize=50").unwrap(),
            (Endpoint::ListModels, Dialect::Gemini)
        );
        assert_eq!(
            classify(&http::Method::GET, "/v1/models").unwrap(),
            (Endpoint::ListModels, Dialect::OpenAi)
        );
    }

    #[test]
    fn unknown_path_is_404_in_its_dialect() {
        let (err, dialect) = classify(&http::Method::POST, "/v1/messages/nope").unwrap_err();
        assert_eq!(err.status(), 404);
        assert_eq!(dialect, Dialect::Anthropic);
        let (err, _) = classify(&http::Method::GET, "/v1/chat/completions").unwrap_err();
        assert_eq!(err.status(), 405);
    }

    #[test]
    fn request_ids_have_the_formatters_shape() {
        let mut out = Vec::new();
        push_hex(&mut out, 0xab_cdef_0123, 12);
        push_hex(&mut out, 7, 8);
        push_hex(&mut out, 0x1_0000_0007, 9);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "{:012x}{:08x}{:08x}",
                0xab_cdef_0123u64, 7, 0x1_0000_0007u64
            )
        );
        let id = new_request_id();
        let id = id.to_str().unwrap();
        assert!(id.starts_with("req_") && id.len() == 24, "{id}");
    }

    #[test]
    fn request_ids_are_unique_across_threads_and_blocks() {
        // Two threads, each past the end of its first block of numbers.
        let ids = |_| {
            std::thread::spawn(|| {
                let ids: Vec<_> = (0..ID_BLOCK + 10).map(|_| new_request_id()).collect();
                ids
            })
        };
        let mut all = std::collections::HashSet::new();
        for thread in (0..2).map(ids).collect::<Vec<_>>() {
            for id in thread.join().unwrap() {
                assert!(all.insert(id.to_str().unwrap().to_string()));
            }
        }
        assert_eq!(all.len() as u64, 2 * (ID_BLOCK + 10));
    }
}
