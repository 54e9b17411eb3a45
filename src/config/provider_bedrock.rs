//! Bedrock facts of a provider: its region (SigV4 signs with it) and AWS credentials.

use super::*;

/// The region: `region:`, else derived from the host
/// (`bedrock-runtime[-fips].<region>.amazonaws.com[.cn]`), else `AWS_REGION` /
/// `AWS_DEFAULT_REGION` from the environment.
pub(super) fn bedrock_region(
    sec: &ProviderSection,
    endpoints: &[Endpoint],
    path: &str,
    cx: &mut Ctx,
) -> Option<String> {
    if let Some(r) = &sec.region {
        if !valid_region(r) {
            let shown = cx.show(&key_path(path, "region"), r);
            cx.err(
                key_path(path, "region"),
                format!("invalid AWS region {shown}; expected a name such as us-east-1"),
            );
        }
        return Some(r.clone());
    }
    let derived: Vec<String> = endpoints
        .iter()
        .filter_map(|e| region_of_host(&e.host))
        .collect();
    if let Some(first) = derived.first() {
        if derived.iter().any(|r| r != first) {
            cx.err(
                path,
                "endpoints are in different AWS regions; use one provider per region",
            );
        }
        if derived.len() == endpoints.len() {
            return Some(first.clone());
        }
    }
    let from_env = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|k| (cx.env)(k).filter(|v| valid_region(v)));
    if from_env.is_none() && !endpoints.is_empty() {
        cx.err(
            path,
            "format bedrock needs a region: set region, use a bedrock-runtime.<region>.amazonaws.com base URL, or set AWS_REGION",
        );
    }
    from_env
}

/// `bedrock-runtime.us-east-1.amazonaws.com` → `us-east-1`.
pub(super) fn region_of_host(host: &str) -> Option<String> {
    let rest = host
        .strip_prefix("bedrock-runtime-fips.")
        .or_else(|| host.strip_prefix("bedrock-runtime."))?;
    let (region, domain) = rest.split_once('.')?;
    let domain = domain.trim_end_matches('.');
    (valid_region(region) && (domain == "amazonaws.com" || domain == "amazonaws.com.cn"))
        .then(|| region.to_string())
}

fn valid_region(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 32
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Credentials from the file (both parts) or from `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`) in the environment.
pub(super) fn aws_keys(sec: &ProviderSection, path: &str, cx: &mut Ctx) -> Option<AwsKeys> {
    let nonempty = |s: &Option<Secret>| s.clone().filter(|s| !s.is_empty());
    let id = nonempty(&sec.aws_access_key_id);
    let secret = nonempty(&sec.aws_secret_access_key);
    match (id, secret) {
        (Some(access_key_id), Some(secret_access_key)) => Some(AwsKeys {
            access_key_id,
            secret_access_key,
            session_token: nonempty(&sec.aws_session_token),
        }),
        (None, None) if sec.aws_session_token.is_none() => keys_from_env(cx).or_else(|| {
            cx.err(
                path,
                "format bedrock needs AWS credentials: aws_access_key_id and aws_secret_access_key (as ${AWS_...} references), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment",
            );
            None
        }),
        _ => {
            cx.err(path, "set both aws_access_key_id and aws_secret_access_key (aws_session_token only with them)");
            None
        }
    }
}

fn keys_from_env(cx: &Ctx) -> Option<AwsKeys> {
    let get = |k: &str| (cx.env)(k).filter(|v| !v.is_empty()).map(Secret::from);
    Some(AwsKeys {
        access_key_id: get("AWS_ACCESS_KEY_ID")?,
        secret_access_key: get("AWS_SECRET_ACCESS_KEY")?,
        session_token: get("AWS_SESSION_TOKEN"),
    })
}
