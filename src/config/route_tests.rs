use super::*;

#[test]
fn cycles_found_iteratively() {
    // 0 -> 1 -> 2 -> 0, 3 -> 3 excluded by the caller, 4 -> 0
    let edges = vec![vec![1], vec![2], vec![0], vec![], vec![0]];
    let cycles = find_cycles(&edges);
    assert_eq!(cycles, vec![vec![0, 1, 2]]);
    // a long chain does not overflow
    let n = 200_000;
    let chain: Vec<Vec<usize>> = (0..n)
        .map(|i| if i + 1 < n { vec![i + 1] } else { vec![0] })
        .collect();
    assert_eq!(find_cycles(&chain).len(), 1);
}

#[test]
fn suggestions_for_typos() {
    let known = ["openai".to_string(), "anthropic".to_string()];
    assert_eq!(
        suggest("opneai", known.iter()),
        ", did you mean \"openai\"?"
    );
    assert_eq!(suggest("zzz", known.iter()), "");
    assert_eq!(edit_distance("", "ab"), 2);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
}

#[test]
fn prompt_cache_key_needs_an_openai_format_target() {
    let base = "auth: { mode: open }\nproviders:\n  - { name: o, format: openai, base_url: \"http://127.0.0.1:1\" }\n  - { name: a, format: anthropic, base_url: \"http://127.0.0.1:2\" }\nmodels:\n";
    let load = |models: &str| crate::config::load_str(&format!("{base}{models}"), &|_| None);
    assert!(load("  - { name: m, balance: { prompt_cache_key: true }, targets: [{ provider: a, model: x }, { provider: o, model: y }] }").is_ok());
    let err = load("  - { name: m, balance: { prompt_cache_key: true }, targets: [{ provider: a, model: x }] }")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("models[0].balance.prompt_cache_key: no target of this model is an openai or azure provider"),
        "{err}"
    );
}
