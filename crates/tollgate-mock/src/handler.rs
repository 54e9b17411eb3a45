//! Serves one request on a connection: records it, reads its body, applies the knobs
//! (hang, forced status, failure ratio, latency, stream timing, stall, abort) and
//! writes the answer its endpoint's format calls for.

use std::sync::Arc;

use super::config::{fails, Knobs, MockConfig};
use super::conn::{BodyError, Conn, Meta};
use super::envelope::Envelope;
use super::http::Framing;
use super::record::{fnv1a64, BodyInfo, Entry};
use super::reply::{EventKind, Gen, Reply, StreamPlan, DEFAULT_MODEL};
use super::route::{Format, Route};
use super::server::Shared;
use super::{anthropic, bedrock, gemini, openai, responses};

/// What the connection loop does after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Read the next request on this connection.
    KeepAlive,
    /// Drop the connection now (client gone, aborted stream, `Connection: close`).
    Close,
    /// Close after a graceful shutdown (error before the body was consumed).
    CloseGracefully,
}

/// A provider-shaped error body for `format`.
pub(crate) fn error_reply(format: Format, status: u16, message: &str, seq: u64) -> Reply {
    match format {
        Format::OpenAi => openai::error(status, message),
        Format::Anthropic => anthropic::error(status, message, seq),
        Format::Gemini => gemini::error(status, message),
        Format::Bedrock => bedrock::error(status, message),
    }
}

/// The request being served and where its answer goes.
struct Exchange<'a> {
    conn: &'a mut Conn,
    entry: &'a Entry,
    cfg: &'a MockConfig,
}

impl<'a> Exchange<'a> {
    fn meta(&self) -> Meta<'a> {
        let cfg: &'a MockConfig = self.cfg;
        let (body_len, body_fnv) = self
            .entry
            .body()
            .map_or((0, fnv1a64(b"")), |b| (b.len, b.fnv));
        Meta {
            name: &cfg.name,
            seq: self.entry.seq,
            body_len,
            body_fnv,
        }
    }

    fn cancelled(&self) -> Flow {
        self.entry.mark_cancelled();
        Flow::Close
    }

    async fn send(&mut self, reply: Reply) -> Flow {
        let keep_alive = self.entry.head.keep_alive;
        self.send_with(reply, keep_alive).await
    }

    async fn send_with(&mut self, reply: Reply, keep_alive: bool) -> Flow {
        self.entry.set_status(reply.status);
        let http10 = self.entry.head.http10;
        let meta = self.meta();
        match self.conn.send_reply(&reply, meta, keep_alive, http10).await {
            Err(_) => self.cancelled(),
            Ok(()) if keep_alive => Flow::KeepAlive,
            Ok(()) => Flow::Close,
        }
    }

    /// Waits `latency` (noticing a client that gives up), then answers.
    async fn send_after(&mut self, knobs: &Knobs, reply: Reply) -> Flow {
        if self.conn.wait(knobs.latency).await.is_err() {
            return self.cancelled();
        }
        self.send(reply).await
    }

    /// Never answers; returns once the client closed the connection.
    async fn hang(&mut self) -> Flow {
        self.conn.wait_closed().await;
        self.cancelled()
    }

    /// Writes the events of `plan` one chunk each, with the knobs' timing and cuts.
    async fn stream(&mut self, plan: StreamPlan, knobs: &Knobs) -> Flow {
        self.entry.set_status(200);
        let http10 = self.entry.head.http10;
        let meta = self.meta();
        if self.conn.wait(knobs.latency).await.is_err()
            || self
                .conn
                .send_stream_head(plan.content_type, meta, http10)
                .await
                .is_err()
            || self.conn.wait(knobs.ttft).await.is_err()
        {
            return self.cancelled();
        }
        let mut tokens_sent = 0;
        for event in &plan.events {
            if event.kind != EventKind::Preamble {
                if knobs.stall_after.is_some_and(|n| tokens_sent >= n) {
                    return self.hang().await;
                }
                if knobs.abort_after.is_some_and(|n| tokens_sent >= n) {
                    // Dropping the connection without the last chunk truncates the body.
                    return Flow::Close;
                }
            }
            if let EventKind::Token(i) = event.kind {
                if i > 0 && self.conn.wait(knobs.delay).await.is_err() {
                    return self.cancelled();
                }
                tokens_sent += 1;
            }
            if self.conn.send_chunk(&event.bytes, !http10).await.is_err() {
                return self.cancelled();
            }
        }
        if http10 {
            return Flow::Close;
        }
        match self.conn.send_last_chunk().await {
            Err(_) => self.cancelled(),
            Ok(()) if self.entry.head.keep_alive => Flow::KeepAlive,
            Ok(()) => Flow::Close,
        }
    }
}

/// Serves the request whose head was just read.
pub(crate) async fn serve(conn: &mut Conn, shared: &Shared, entry: Arc<Entry>) -> Flow {
    let cfg = shared.config();
    let route = Route::classify(&entry.head);
    if route.is_recorded() {
        shared.recorder.push(Arc::clone(&entry));
    } else if route == Route::Health {
        shared.recorder.count_health();
    }
    let head = &entry.head;
    let wants_continue = head.expect_continue && head.framing != Framing::Empty;
    if wants_continue && conn.send_continue().await.is_err() {
        entry.mark_cancelled();
        return Flow::Close;
    }
    let body = match conn.read_body(head.framing, cfg.max_body, &entry).await {
        Ok(body) => body,
        Err(BodyError::Gone) => {
            entry.mark_cancelled();
            return Flow::Close;
        }
        Err(BodyError::Http(e)) => {
            let mut ex = Exchange {
                conn,
                entry: &entry,
                cfg: &cfg,
            };
            let reply = error_reply(route.format(), e.status(), e.reason(), entry.seq);
            // The unread body makes the connection unusable: answer, then close.
            ex.send_with(reply, false).await;
            return Flow::CloseGracefully;
        }
    };
    let envelope = Envelope::parse(&body);
    let model = envelope.as_ref().ok().and_then(|e| e.model.as_deref());
    entry.finish_body(BodyInfo::new(&body, model));
    let mut ex = Exchange {
        conn,
        entry: &entry,
        cfg: &cfg,
    };
    match route {
        Route::Health if cfg.unhealthy => ex.send(Reply::text(503, "unhealthy")).await,
        Route::Health => ex.send(Reply::text(200, "ok")).await,
        Route::Requests => {
            let json = serde_json::to_string(&shared.recorder.snapshot()).unwrap_or_default();
            ex.send(Reply::json(json)).await
        }
        Route::Stats => {
            let (r, h) = (shared.recorder.requests(), shared.recorder.health_checks());
            ex.send(Reply::json(format!(
                r#"{{"requests":{r},"health_checks":{h}}}"#
            )))
            .await
        }
        Route::Reset => {
            shared.reset();
            ex.send(Reply::json(r#"{"reset":true}"#.to_owned())).await
        }
        Route::StoredResponse { id, input_items } => {
            let delete = entry.head.method() == "DELETE";
            ex.send(responses::stored(id, input_items, delete, entry.seq))
                .await
        }
        Route::NotFound(f) => {
            let msg = format!("mock: no endpoint {}", entry.head.path());
            ex.send(error_reply(f, 404, &msg, entry.seq)).await
        }
        Route::MethodNotAllowed(f) => {
            let msg = format!("mock: method {} not allowed here", entry.head.method());
            ex.send(error_reply(f, 405, &msg, entry.seq)).await
        }
        _ => api(&mut ex, shared, &route, &body, envelope).await,
    }
}

/// Whole answer or stream.
enum Answer {
    Whole(Reply),
    Stream(StreamPlan),
}

/// A provider API call: knobs first, then the endpoint's answer.
async fn api(
    ex: &mut Exchange<'_>,
    shared: &Shared,
    route: &Route<'_>,
    body: &[u8],
    envelope: Result<Envelope<'_>, serde_json::Error>,
) -> Flow {
    let body_len = body.len();
    let knobs = Knobs::resolve(ex.cfg, &ex.entry.head);
    let (format, seq) = (route.format(), ex.entry.seq);
    if knobs.hang {
        return ex.hang().await;
    }
    let forced = knobs.forced_error().or_else(|| {
        let n = shared.next_fail_seq();
        fails(n, ex.cfg.fail_ratio).then_some(500)
    });
    if let Some(status) = forced {
        let mut reply = error_reply(
            format,
            status,
            &format!("mock: forced status {status}"),
            seq,
        );
        if let Some(secs) = knobs.retry_after {
            reply.headers.push(("retry-after", secs.to_string()));
        }
        return ex.send_after(&knobs, reply).await;
    }
    let env = match envelope {
        Ok(env) => env,
        Err(e) => {
            let reply = error_reply(format, 400, &format!("mock: invalid JSON body: {e}"), seq);
            return ex.send(reply).await;
        }
    };
    let model = route
        .path_model()
        .or(env.model.as_deref())
        .unwrap_or(DEFAULT_MODEL);
    let mut g = Gen::new(model, knobs.tokens, body_len, seq);
    g.tool = if *route == Route::Responses {
        env.responses_tool_to_call()
    } else {
        env.tool_to_call()
    };
    g.include_usage = env.include_usage();
    let mut knobs = knobs;
    if let (Some(pc), Route::Chat | Route::Messages) = (&ex.cfg.prefix_cache, route) {
        let found = shared.prefix_cache.lookup(pc, body);
        g.prompt_tokens = found.prompt_tokens.max(1);
        g.cached_tokens = found.cached_tokens.min(g.prompt_tokens);
        // Prefill: before the header of a whole answer, before the first event of a stream.
        knobs.latency += found.prefill;
    }
    match answer(route, &env, &g, ex.cfg) {
        Answer::Whole(reply) => ex.send_after(&knobs, reply).await,
        Answer::Stream(plan) => ex.stream(plan, &knobs).await,
    }
}

/// The answer `route` gives for this request.
fn answer(route: &Route<'_>, env: &Envelope<'_>, g: &Gen<'_>, cfg: &MockConfig) -> Answer {
    let stream = env.streaming();
    match route {
        Route::Chat if stream => Answer::Stream(openai::chat_stream(g)),
        Route::Chat => Answer::Whole(openai::chat(g)),
        Route::Responses if stream => Answer::Stream(responses::response_stream(g)),
        Route::Responses => Answer::Whole(responses::response(g)),
        Route::Embeddings => {
            let dims = env.dimensions.unwrap_or(cfg.embedding_dims).max(1);
            let base64 = env.encoding_format.as_deref() == Some("base64");
            let reply = env
                .input
                .as_ref()
                .and_then(|i| openai::embeddings(g, i, dims, base64));
            Answer::Whole(reply.unwrap_or_else(|| {
                openai::error(
                    400,
                    "mock: 'input' must be a string, an array of strings or token arrays",
                )
            }))
        }
        Route::Models => Answer::Whole(openai::models(&cfg.models, g.created)),
        Route::Messages if stream => Answer::Stream(anthropic::message_stream(g)),
        Route::Messages => Answer::Whole(anthropic::message(g)),
        Route::CountTokens => Answer::Whole(anthropic::count_tokens(g)),
        Route::Gemini {
            stream: true, sse, ..
        } => Answer::Stream(gemini::generate_stream(g, *sse)),
        Route::Gemini { .. } => Answer::Whole(gemini::generate(g)),
        Route::GeminiEmbed { batch, .. } => {
            let dims = env
                .output_dimensionality
                .unwrap_or(cfg.embedding_dims)
                .max(1);
            let reply = gemini::embeddings(env, *batch, dims);
            Answer::Whole(reply.unwrap_or_else(|| {
                gemini::error(
                    400,
                    "mock: content.parts[].text (or requests[]) is required",
                )
            }))
        }
        Route::GeminiCountTokens { .. } => Answer::Whole(gemini::count_tokens(g)),
        Route::Bedrock { stream: true, .. } => Answer::Stream(bedrock::converse_stream(g)),
        Route::Bedrock { .. } => Answer::Whole(bedrock::converse(g)),
        _ => Answer::Whole(openai::error(404, "mock: no endpoint")),
    }
}
