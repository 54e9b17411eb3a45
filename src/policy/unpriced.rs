//! Models without a price (`unpriced:`). Spend is counted from prices, so a model the
//! price book does not know would cost $0 and pass every budget unseen. Before a
//! request is sent, each model its routes may use is checked: `block` refuses it,
//! `warn` serves it (counted, logged once per model) but refuses it for keys with a
//! budget, `default_price` serves and charges it at the configured prices.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::config::UnpricedPolicy;
use crate::error::{ErrorKind, GatewayError};

use super::keys::KeyInfo;

use super::metrics::UNPRICED;

/// Models remembered as already logged; past this, nothing more is logged (bounded).
const LOGGED_CAP: usize = 1024;

/// The models already logged in this config generation.
#[derive(Default)]
pub struct Logged(Mutex<HashSet<String>>);

impl Logged {
    /// True the first time `model` is seen (and while fewer than `LOGGED_CAP` were).
    fn first_time(&self, model: &str) -> bool {
        let Ok(mut seen) = self.0.lock() else {
            return false;
        };
        if seen.len() >= LOGGED_CAP || seen.contains(model) {
            return false;
        }
        seen.insert(model.to_string())
    }
}

impl super::Policy {
    /// Checks, before anything is sent, the models a request may reach through
    /// `targets` (provider, upstream model): see the module doc.
    pub fn check_priced<'a>(
        &self,
        key: &KeyInfo,
        targets: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), GatewayError> {
        let mut has_budget = None;
        for (provider, model) in targets {
            if self.inner.pricing.listed(model) {
                continue;
            }
            let budgeted =
                *has_budget.get_or_insert_with(|| self.with_per(key, |per| per.has_budget));
            check(
                self.inner.unpriced,
                &self.inner.unpriced_logged,
                budgeted,
                provider,
                model,
            )?;
        }
        Ok(())
    }
}

/// Applies the policy to one model without a price, used through `provider`.
pub fn check(
    policy: UnpricedPolicy,
    logged: &Logged,
    key_has_budget: bool,
    provider: &str,
    model: &str,
) -> Result<(), GatewayError> {
    let refused = match policy {
        UnpricedPolicy::Block => true,
        UnpricedPolicy::Warn => key_has_budget,
        UnpricedPolicy::DefaultPrice { .. } => false,
    };
    let outcome = if refused { "refused" } else { "served" };
    if let Some(counter) = UNPRICED.as_ref() {
        counter
            .with_label_values(&[provider, policy.as_str(), outcome])
            .inc();
    }
    if logged.first_time(model) {
        log::warn!(
            "model `{model}` (provider `{provider}`) has no price: unpriced.action is {}, requests are {outcome}; add a `pricing:` entry for it",
            policy.as_str()
        );
    }
    if !refused {
        return Ok(());
    }
    let why = if policy == UnpricedPolicy::Block {
        "unpriced.action is block"
    } else {
        "this key has a budget that it could not count"
    };
    Err(GatewayError::new(
        ErrorKind::Forbidden,
        format!("model `{model}` has no price and {why}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_budgets() {
        let logged = Logged::default();
        assert!(check(UnpricedPolicy::Warn, &logged, false, "p", "m").is_ok());
        let e = check(UnpricedPolicy::Warn, &logged, true, "p", "m").unwrap_err();
        assert_eq!(e.kind, ErrorKind::Forbidden);
        assert!(check(UnpricedPolicy::Block, &logged, false, "p", "m").is_err());
        let default = UnpricedPolicy::DefaultPrice {
            input: 1.0,
            output: 2.0,
        };
        assert!(check(default, &logged, true, "p", "m").is_ok());
    }

    #[test]
    fn each_model_is_logged_once_and_the_set_is_bounded() {
        let logged = Logged::default();
        assert!(logged.first_time("a"));
        assert!(!logged.first_time("a"));
        for i in 0..2 * LOGGED_CAP {
            logged.first_time(&format!("m{i}"));
        }
        assert_eq!(logged.0.lock().unwrap().len(), LOGGED_CAP);
    }
}
