use super::*;

fn labels<'a>(model: &'a str, provider: &'a str) -> Labels<'a> {
    Labels {
        route: "chat_completions",
        model,
        provider,
        variant: "",
        operation: Some("chat"),
        system: Some("openai"),
    }
}

fn requests_total(model: &str, provider: &str, status: &str) -> u64 {
    metrics::REQUESTS
        .with_label_values(&["chat_completions", model, provider, status, ""])
        .get()
}

#[test]
fn one_series_per_label_set_counting_into_the_labelled_vector() {
    let handles = MetricHandles::new(["mh-p1"]);
    let before = requests_total("mh-model-a", "mh-p1", "2xx");
    let a = handles.series(&labels("mh-model-a", "mh-p1"));
    a.requests(200).inc();
    handles
        .series(&labels("mh-model-a", "mh-p1"))
        .requests(204)
        .inc();
    assert!(Arc::ptr_eq(
        &a,
        &handles.series(&labels("mh-model-a", "mh-p1"))
    ));
    assert_eq!(requests_total("mh-model-a", "mh-p1", "2xx"), before + 2);
    let b = handles.series(&labels("mh-model-b", "mh-p1"));
    assert!(!Arc::ptr_eq(&a, &b));
    // Labels that only differ in where one string ends are two series.
    let c = handles.series(&labels("mh-model-", "bmh-p1"));
    assert!(!Arc::ptr_eq(&b, &c));
    assert_eq!(handles.len(), 3);
}

#[test]
fn children_are_created_on_first_use_only() {
    let handles = MetricHandles::default();
    let s = handles.series(&labels("mh-lazy", "mh-p2"));
    s.requests(503).inc();
    let families = prometheus::gather();
    let has = |name: &str, status: &str| {
        families.iter().filter(|f| f.name() == name).any(|f| {
            f.get_metric().iter().any(|m| {
                let l = m.get_label();
                l.iter().any(|p| p.value() == "mh-lazy")
                    && l.iter()
                        .any(|p| p.name() == "status" && p.value() == status)
            })
        })
    };
    assert!(has("tollgate_requests_total", "5xx"));
    assert!(!has("tollgate_requests_total", "2xx"));
}

#[test]
fn the_map_is_bounded() {
    let handles = MetricHandles::default();
    for i in 0..MAX_SERIES + 50 {
        let model = format!("mh-bound-{i}");
        let s = handles.series(&labels(&model, ""));
        assert_eq!(s.model, model);
    }
    assert_eq!(handles.len(), MAX_SERIES);
    // Past the bound a series still counts, into the same labelled vector.
    let model = format!("mh-bound-{}", MAX_SERIES + 10);
    let before = requests_total(&model, "", "4xx");
    handles.series(&labels(&model, "")).requests(404).inc();
    assert_eq!(requests_total(&model, "", "4xx"), before + 1);
}

#[test]
fn a_reloaded_runtime_counts_into_the_same_series() {
    let old = MetricHandles::new(["mh-p3"]);
    let new = MetricHandles::new(["mh-p3", "mh-p4"]);
    let before = requests_total("mh-reload", "mh-p3", "2xx");
    old.series(&labels("mh-reload", "mh-p3"))
        .requests(200)
        .inc();
    assert!(new.is_empty());
    new.series(&labels("mh-reload", "mh-p3"))
        .requests(200)
        .inc();
    assert_eq!(requests_total("mh-reload", "mh-p3", "2xx"), before + 2);

    let attempts = |p: &str, o: &str| metrics::UPSTREAM_ATTEMPTS.with_label_values(&[p, o]).get();
    let (ok, failed) = (attempts("mh-p4", "ok"), attempts("mh-p4", "failed"));
    new.attempt("mh-p4", false);
    new.attempt("mh-p4", true);
    // A provider the old config did not have is still counted (uncached).
    old.attempt("mh-p4", true);
    assert_eq!(
        (attempts("mh-p4", "ok"), attempts("mh-p4", "failed")),
        (ok + 1, failed + 2)
    );
}

#[test]
fn genai_children_follow_the_operation_labels() {
    let handles = MetricHandles::default();
    let s = handles.series(&labels("mh-genai", "mh-p5"));
    let count = || {
        genai_metrics::OPERATION_DURATION
            .with_label_values(&["chat", "openai", "mh-genai"])
            .sample_count()
    };
    let before = count();
    let op = genai_metrics::Operation {
        operation: "chat",
        system: "openai",
        model: "mh-genai",
        duration: std::time::Duration::from_millis(5),
        succeeded: true,
        streamed: false,
        input_tokens: 3,
        output_tokens: 4,
        time_to_first_byte: None,
        decode: None,
    };
    s.record_genai(&op);
    assert_eq!(count(), before + 1);
    let output = genai_metrics::TOKEN_USAGE
        .with_label_values(&["output", "chat", "openai", "mh-genai"])
        .sample_sum();
    assert!(output >= 4.0);
    // No system (no attempt): nothing recorded.
    let none = handles.series(&Labels {
        system: None,
        ..labels("mh-genai", "")
    });
    none.record_genai(&op);
    assert_eq!(count(), before + 1);
}

#[test]
fn with_series_reaches_the_kept_series_and_keeps_a_new_one() {
    let handles = MetricHandles::new(["mh-p5"]);
    let before = requests_total("mh-with", "mh-p5", "2xx");
    let kept = handles.series(&labels("mh-with", "mh-p5"));
    let seen = handles.with_series(&labels("mh-with", "mh-p5"), |s| {
        s.requests(200).inc();
        s as *const Series
    });
    assert_eq!(seen, Arc::as_ptr(&kept), "the kept series, not a new one");
    // A label set not seen yet is kept by its first use.
    handles.with_series(&labels("mh-with-new", "mh-p5"), |s| s.requests(201).inc());
    assert_eq!(handles.len(), 2);
    assert_eq!(requests_total("mh-with", "mh-p5", "2xx"), before + 1);
    assert_eq!(requests_total("mh-with-new", "mh-p5", "2xx"), 1);
}
