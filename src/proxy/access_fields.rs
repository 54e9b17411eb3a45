//! The access-log fields that say who asked and what it cost: key name, team, end
//! user, the route and target that answered, the trace id, and the cost in USD. Apart from the
//! line's framing (`access_log`) so both stay small.
//!
//! Never the key itself: only its configured name. The end user comes from
//! `logging.user_from` (`end_user`), already bounded.

use super::access_log::{field_raw, field_str, Usd};
use super::ctx::Ctx;

/// Appends `key`, `team`, `user`, `route`, `target` and `cost_usd` (null when the
/// model has no price, so an unpriced request is told apart from a free one).
pub fn write_identity_and_cost(out: &mut String, ctx: &Ctx) {
    match &ctx.req.key {
        Some(key) => {
            field_str(out, "key", &key.name);
            match &key.team {
                Some(team) => field_str(out, "team", &team.name),
                None => field_raw(out, "team", "null"),
            }
        }
        None => {
            field_raw(out, "key", "null");
            field_raw(out, "team", "null");
        }
    }
    match ctx.req.end_user.as_deref() {
        Some(user) => field_str(out, "user", user),
        None => field_raw(out, "user", "null"),
    }
    match &ctx.attempt {
        Some(a) => {
            field_str(out, "route", &a.route.name);
            field_raw(out, "target", a.target_index);
        }
        None => {
            field_raw(out, "route", "null");
            field_raw(out, "target", "null");
        }
    }
    match super::spans::trace_id(ctx) {
        Some(id) => field_str(out, "trace_id", &id),
        None => field_raw(out, "trace_id", "null"),
    }
    match cost_usd(ctx) {
        Some(cost) => field_raw(out, "cost_usd", Usd(cost)),
        None => field_raw(out, "cost_usd", "null"),
    }
}

/// What this request cost on the upstream model that answered it; None when nothing
/// was sent upstream or the model has no price. A settled request was priced then.
fn cost_usd(ctx: &Ctx) -> Option<f64> {
    if ctx.resp.cost_usd.is_some() {
        return ctx.resp.cost_usd;
    }
    let attempt = ctx.attempt.as_ref()?;
    let policy = &ctx.req.runtime.as_ref()?.policy;
    policy.priced_cost(&attempt.upstream_model, &ctx.resp.usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_no_attempt_is_all_null_and_valid_json() {
        let ctx = Ctx::new();
        let mut out = String::from("{");
        write_identity_and_cost(&mut out, &ctx);
        out.pop();
        out.push('}');
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        for field in [
            "key", "team", "user", "route", "target", "trace_id", "cost_usd",
        ] {
            assert!(v[field].is_null(), "{field}: {out}");
        }
    }
}
