//! The request side before any upstream: classify the path, authenticate, read and
//! check the body, resolve the route, admit under the limits — or answer directly
//! (errors, the models list, local token counts).

use pingora::Result;
use pingora_proxy::Session;

use crate::error::GatewayError;
use crate::formats;
use crate::providers::Api;
use crate::routing;

use super::ctx::Ctx;
use super::inbound::{self, Endpoint};
use super::{govern, respond};

/// What `request_filter` decided.
pub enum Accepted {
    /// Go upstream.
    Proxy,
    /// A response was written already.
    Answered,
}

/// Everything before the upstream: classify, authenticate, read and check the body,
/// resolve the route, admit under the limits. A `GatewayError` is answered in the
/// client's dialect by the caller; a Pingora error means the client connection failed.
pub async fn accept(
    session: &mut Session,
    ctx: &mut Ctx,
) -> Result<std::result::Result<Accepted, GatewayError>> {
    let Some(runtime) = ctx.req.runtime.clone() else {
        return Ok(Err(GatewayError::internal("no runtime")));
    };
    let (endpoint, dialect) = {
        let req = session.req_header();
        match inbound::classify(&req.method, req.uri.path()) {
            Ok(found) => found,
            Err((err, dialect)) => {
                ctx.req.dialect = dialect;
                return Ok(Err(err));
            }
        }
    };
    ctx.req.dialect = dialect;
    let key = match govern::authenticate(&runtime.policy, session, dialect) {
        Ok(key) => key,
        Err(err) => return Ok(Err(err)),
    };
    let api = match endpoint {
        Endpoint::Api(api) => api,
        other => {
            ctx.req.key = Some(key.clone());
            return Box::pin(answer_directly(
                other, &runtime, &key, session, ctx, dialect,
            ))
            .await;
        }
    };
    // Moved, not cloned: the key's count is shared by every worker thread.
    ctx.req.key = Some(key);
    ctx.req.api = Some(api);
    let client = &runtime.config.client;
    let body = match inbound::read_body(session, runtime.config.max_body_bytes, client).await? {
        Ok(body) => body,
        Err(err) => return Ok(Err(err)),
    };
    // The upstream clocks start now: the upload's time is the client's.
    crate::edge::clocks::body_received(ctx);
    let envelope = match read_envelope(session, dialect, api, &body) {
        Ok(env) => env,
        Err(err) => return Ok(Err(err)),
    };
    ctx.req.envelope = Some(envelope);
    ctx.req.body = body;
    if api == Api::Responses {
        if let Err(err) = Box::pin(continue_conversation(&runtime, ctx)).await {
            return Ok(Err(err));
        }
    }
    if let Err(err) = govern::check_request(&runtime.policy, ctx) {
        return Ok(Err(err));
    }
    ctx.route.decision = route_by_rules(&runtime, session, ctx).await;
    let model = match &ctx.route.decision {
        Some(d) => d.route.as_str(),
        None => ctx.model_name(),
    };
    let plan = match routing::plan_for(&runtime.config, model) {
        Ok(plan) => plan,
        Err(err) => return Ok(Err(err)),
    };
    let mut plan = match capable_plan(plan, ctx) {
        Ok(plan) => plan,
        Err(err) => return Ok(Err(err)),
    };
    if let Some(turn) = &ctx.req.conversation {
        if let Err(err) = crate::conversations::narrow_plan(turn, &mut plan) {
            return Ok(Err(err));
        }
    }
    if api == Api::CountTokens && !count_tokens_upstream(&plan, dialect) {
        let tokens = formats::estimate_prompt_tokens(dialect, &ctx.req.body);
        let body = formats::render_token_count(dialect, tokens);
        Box::pin(respond::send_json(session, ctx, 200, body, &[])).await?;
        return Ok(Ok(Accepted::Answered));
    }
    ctx.req.hash_key = hash_key(session, &plan, ctx);
    ctx.req.plan = Some(plan);
    if api != Api::CountTokens {
        match govern::admit(&runtime.policy, ctx).await {
            Ok(admission) => ctx.req.admission = Some(admission),
            Err(err) => return Ok(Err(err)),
        }
    }
    // The rare awaits of this function are boxed where they are taken: its future is
    // made (and moved into its box) for every request.
    if crate::cache::applies(ctx) && Box::pin(crate::cache::lookup(session, ctx)).await? {
        return Ok(Ok(Accepted::Answered));
    }
    Ok(Ok(Accepted::Proxy))
}

/// The requests tollgate answers itself after authentication: the models list, one
/// model, a stored response.
async fn answer_directly(
    endpoint: Endpoint,
    runtime: &crate::runtime::Runtime,
    key: &crate::policy::KeyInfo,
    session: &mut Session,
    ctx: &mut Ctx,
    dialect: formats::Dialect,
) -> Result<std::result::Result<Accepted, GatewayError>> {
    let answer = match endpoint {
        Endpoint::ListModels => Ok((200, list_models(runtime, key, session, dialect))),
        Endpoint::GetModel => get_model(runtime, key, session, dialect).map(|body| (200, body)),
        Endpoint::StoredResponse => {
            let req = session.req_header();
            let at = req
                .uri
                .path_and_query()
                .map_or("", |p| p.as_str())
                .to_string();
            let method = req.method.clone();
            crate::conversations::answer_stored(runtime, key, &method, &at).await
        }
        Endpoint::Api(_) => Err(GatewayError::internal("not answered by the gateway")),
    };
    match answer {
        Ok((status, body)) => {
            respond::send_json(session, ctx, status, body, &[]).await?;
            Ok(Ok(Accepted::Answered))
        }
        Err(err) => Ok(Err(err)),
    }
}

/// The plan without the targets that cannot serve this request
/// (`routing::capability`); the request's shape is kept for cost-aware strategies.
fn capable_plan(
    plan: routing::RoutePlan,
    ctx: &mut Ctx,
) -> std::result::Result<routing::RoutePlan, GatewayError> {
    let chat =
        matches!(ctx.req.api, Some(api) if api != Api::Embeddings && api != Api::CountTokens);
    if !chat || !routing::capability::plan_needs_shape(&plan) {
        return Ok(plan);
    }
    let priced = plan.routes.iter().any(|r| r.strategy.prices_requests());
    let max_tokens = ctx.req.envelope.as_ref().and_then(|e| e.max_tokens);
    // Most requests ask for nothing a target could lack: tell without a parse.
    let quick = routing::capability::quick_shape(&ctx.req.body, max_tokens);
    if !priced && quick.is_some_and(|q| routing::capability::serves_all(&plan, &q)) {
        return Ok(plan);
    }
    let shape = formats::request_shape(ctx.req.dialect, &ctx.req.body);
    ctx.req.shape = Some(shape);
    let before = target_count(&plan);
    let capable = routing::capability::restrict(plan, &shape)?;
    ctx.route.skipped = before.saturating_sub(target_count(&capable));
    Ok(capable)
}

fn target_count(plan: &routing::RoutePlan) -> usize {
    plan.routes.iter().map(|r| r.targets.len()).sum()
}

/// A Responses request: note whether its answer is stored, and put a conversation
/// tollgate stored in front of its input (the body and envelope are replaced).
async fn continue_conversation(
    runtime: &crate::runtime::Runtime,
    ctx: &mut Ctx,
) -> std::result::Result<(), GatewayError> {
    let Some(key) = ctx.req.key.clone() else {
        return Ok(());
    };
    let (turn, rewritten) = crate::conversations::begin(runtime, &key, &ctx.req.body).await?;
    if let Some(body) = rewritten {
        let body = bytes::Bytes::from(body);
        ctx.req.envelope = Some(formats::parse_envelope_with(ctx.req.dialect, &body, true)?);
        ctx.req.body = body;
    }
    ctx.req.conversation = Some(Box::new(turn));
    Ok(())
}

/// When the requested model is a router, its rules' choice (counted per rule); its
/// semantic rules may embed the question first.
async fn route_by_rules(
    runtime: &crate::runtime::Runtime,
    session: &Session,
    ctx: &Ctx,
) -> Option<routing::rules::Decision> {
    let router = runtime.config.router(ctx.model_name())?;
    let envelope = ctx.req.envelope.as_ref()?;
    let key = ctx.req.key.as_ref()?;
    let body = routing::facts::read(ctx.req.dialect, &ctx.req.body);
    let inputs = routing::rules::Inputs {
        key,
        headers: &session.req_header().headers,
        user: envelope.user.as_deref(),
        prompt_tokens: formats::estimate_prompt_tokens(ctx.req.dialect, &ctx.req.body),
        max_tokens: envelope.max_tokens,
        stream: envelope.stream,
        body: &body,
    };
    let decision = Box::pin(routing::semantic::decide(runtime, router, &inputs)).await?;
    crate::metrics::ROUTE_RULES
        .with_label_values(&[
            &decision.router,
            &decision.rule,
            decision.variant.as_deref().unwrap_or(""),
        ])
        .inc();
    Some(decision)
}

/// The consistent-hash key: the route's `hash_header` if sent, else the `user`
/// field; for `prefix_affinity`, the hash of the prompt's leading part (and in
/// estimate mode its block hashes, kept in `ctx.req.prefix_blocks`).
fn hash_key(session: &Session, plan: &routing::RoutePlan, ctx: &mut Ctx) -> Option<String> {
    let route = plan.routes.first()?;
    let envelope = ctx.req.envelope.as_ref();
    match route.strategy {
        crate::config::Strategy::ConsistentHash => {}
        crate::config::Strategy::PrefixAffinity => {
            let (key, blocks) =
                routing::prefix::placement(ctx.req.dialect, &ctx.req.body, &route.balance);
            ctx.req.prefix_blocks = blocks;
            return key;
        }
        _ => return None,
    }
    let from_header = route.hash_header.as_deref().and_then(|h| {
        session
            .req_header()
            .headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    from_header.or_else(|| envelope.and_then(|e| e.user.clone()))
}

/// The envelope: from the body, or for Gemini calls from the path (model, method)
/// and the body (output cap). Gemini streams must ask for SSE (`alt=sse`), the only
/// stream framing served.
fn read_envelope(
    session: &Session,
    dialect: formats::Dialect,
    api: Api,
    body: &[u8],
) -> std::result::Result<formats::Envelope, GatewayError> {
    let uri = &session.req_header().uri;
    let Some(call) = inbound::gemini_call(uri.path()) else {
        return formats::parse_envelope_with(dialect, body, !api.is_embeddings());
    };
    let call = call?;
    let sse = uri
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == "alt=sse"));
    if call.stream && !sse {
        return Err(GatewayError::invalid(
            "streamGenerateContent is served as server-sent events only: add ?alt=sse",
        ));
    }
    formats::parse_gemini_envelope(body, &call.model, call.stream)
}

/// Token counts go upstream only to a target of the client's own format (Anthropic
/// `count_tokens`, Gemini `countTokens`); otherwise tollgate estimates them.
fn count_tokens_upstream(plan: &routing::RoutePlan, dialect: formats::Dialect) -> bool {
    plan.routes
        .first()
        .and_then(|r| r.targets.first())
        .is_some_and(|t| {
            crate::providers::provider_format(&t.provider).native_dialect() == Some(dialect)
        })
}

/// `GET /v1/models`: the configured model names the key may call, in OpenAI's shape,
/// or Anthropic's when the client sends `anthropic-version`; `GET /v1beta/models` in
/// Gemini's.
/// One model of the list: a name the key may use that routes somewhere (an alias, a
/// router, or `provider/model`); otherwise the error a request for it would get.
fn get_model(
    runtime: &crate::runtime::Runtime,
    key: &crate::policy::KeyInfo,
    session: &Session,
    dialect: formats::Dialect,
) -> std::result::Result<Vec<u8>, GatewayError> {
    let path = session.req_header().uri.path();
    let name = inbound::model_in_path(path)
        .ok_or_else(|| GatewayError::invalid("the model name in the path is not usable"))?;
    if runtime.config.router(&name).is_none() {
        routing::plan_for(&runtime.config, &name)?;
    }
    runtime.policy.authorize_model(key, &name)?;
    let anthropic = session
        .req_header()
        .headers
        .contains_key("anthropic-version");
    let dialect = match dialect {
        formats::Dialect::OpenAi if anthropic => formats::Dialect::Anthropic,
        other => other,
    };
    Ok(formats::render_model(dialect, &name))
}

fn list_models(
    runtime: &crate::runtime::Runtime,
    key: &crate::policy::KeyInfo,
    session: &Session,
    dialect: formats::Dialect,
) -> Vec<u8> {
    let anthropic = session
        .req_header()
        .headers
        .contains_key("anthropic-version");
    let dialect = match dialect {
        formats::Dialect::Gemini => dialect,
        _ if anthropic => formats::Dialect::Anthropic,
        _ => formats::Dialect::OpenAi,
    };
    // Routers are model names to the client too (a key's allow-list is checked
    // against the name it sends).
    let config = &runtime.config;
    let names = config
        .models
        .iter()
        .map(|m| m.name.as_str())
        .chain(config.routers.iter().map(|r| r.name.as_str()))
        .filter(|name| runtime.policy.authorize_model(key, name).is_ok());
    formats::render_model_list(dialect, names)
}
