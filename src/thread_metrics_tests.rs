use super::*;

fn histogram_of(families: &[MetricFamily], name: &str) -> Vec<(String, u64, f64, Vec<u64>)> {
    let family = families.iter().find(|f| f.name() == name);
    family
        .map(|f| {
            f.get_metric()
                .iter()
                .map(|m| {
                    let labels = m
                        .get_label()
                        .iter()
                        .map(|l| format!("{}={}", l.name(), l.value()));
                    let h = m.get_histogram();
                    let buckets = h
                        .get_bucket()
                        .iter()
                        .map(|b| b.cumulative_count())
                        .collect();
                    let labels = labels.collect::<Vec<_>>().join(",");
                    (labels, h.sample_count(), h.sample_sum(), buckets)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_histogram_reads_like_the_crates_own() {
    let ours =
        ThreadHistogramVec::new("t_seconds", "help", &[0.1, 1.0], &["route", "model"]).unwrap();
    let theirs = prometheus::HistogramVec::new(
        prometheus::HistogramOpts::new("t_seconds", "help").buckets(vec![0.1, 1.0]),
        &["route", "model"],
    )
    .unwrap();
    for (labels, v) in [
        (["a", "m"], 0.05),
        (["a", "m"], 0.5),
        (["b", "m"], 5.0),
        (["a", "m"], 0.1),
    ] {
        ours.with_label_values(&labels).observe(v);
        theirs.with_label_values(&labels).observe(v);
    }
    let mut a = histogram_of(&ours.collect(), "t_seconds");
    let mut b = histogram_of(&theirs.collect(), "t_seconds");
    a.sort_by(|x, y| x.0.cmp(&y.0));
    b.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(a, b);
    assert_eq!(a[0], ("model=m,route=a".to_string(), 3, 0.65, vec![2, 3]));
    let families = ours.collect();
    assert_eq!(families[0].get_field_type(), MetricType::HISTOGRAM);
    assert_eq!(families[0].help(), "help");
}

#[test]
fn counters_read_like_the_crates_own() {
    let ours = ThreadCounterVec::new("t_total", "help", &["status"]).unwrap();
    ours.with_label_values(&["2xx"]).inc();
    ours.with_label_values(&["2xx"]).inc_by(4);
    ours.with_label_values(&["5xx"]).inc();
    assert_eq!(ours.with_label_values(&["2xx"]).get(), 5);
    let families = ours.collect();
    assert_eq!(families[0].get_field_type(), MetricType::COUNTER);
    let mut values: Vec<(String, f64)> = families[0]
        .get_metric()
        .iter()
        .map(|m| {
            (
                m.get_label()[0].value().to_string(),
                m.get_counter().value(),
            )
        })
        .collect();
    values.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        values,
        vec![("2xx".to_string(), 5.0), ("5xx".to_string(), 1.0)]
    );
}

#[test]
fn threads_write_slots_of_their_own_and_the_scrape_sums_them() {
    let h = ThreadHistogramVec::new("t2_seconds", "help", &[1.0], &["k"]).unwrap();
    let c = ThreadCounterVec::new("t2_total", "help", &["k"]).unwrap();
    // More threads than private slots: the shared slot must lose nothing either.
    let threads: Vec<_> = (0..SLOTS + 4)
        .map(|_| {
            let (h, c) = (h.with_label_values(&["x"]), c.with_label_values(&["x"]));
            std::thread::spawn(move || {
                for i in 0..1_000 {
                    h.observe(if i % 2 == 0 { 0.5 } else { 2.0 });
                    c.inc();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let n = (SLOTS as u64 + 4) * 1_000;
    let series = h.with_label_values(&["x"]);
    assert_eq!(series.sample_count(), n);
    assert_eq!(series.sample_sum(), n as f64 / 2.0 * 2.5);
    assert_eq!(histogram_of(&h.collect(), "t2_seconds")[0].3, vec![n / 2]);
    assert_eq!(c.with_label_values(&["x"]).get(), n);
}

#[test]
fn label_values_that_hash_alike_stay_apart() {
    let c = ThreadCounterVec::new("t3_total", "help", &["a", "b"]).unwrap();
    // Joined they read the same; as label values they differ.
    c.with_label_values(&["ab", "c"]).inc();
    c.with_label_values(&["a", "bc"]).inc_by(2);
    assert_eq!(c.with_label_values(&["ab", "c"]).get(), 1);
    assert_eq!(c.with_label_values(&["a", "bc"]).get(), 2);
    assert_eq!(c.collect()[0].get_metric().len(), 2);
}

#[test]
fn bad_bounds_are_refused() {
    let many: Vec<f64> = (0..=MAX_BOUNDS).map(|i| i as f64).collect();
    assert!(ThreadHistogramVec::new("t4", "h", &many, &[]).is_err());
    assert!(ThreadHistogramVec::new("t4", "h", &[1.0, 0.5], &[]).is_err());
    assert!(ThreadHistogramVec::new("t4", "h", &many[..MAX_BOUNDS], &[]).is_ok());
}

#[test]
fn a_value_above_every_bound_counts_only_in_inf() {
    let h = ThreadHistogramVec::new("t5", "h", &[1.0], &[]).unwrap();
    h.with_label_values(&[]).observe(7.0);
    let read = histogram_of(&h.collect(), "t5");
    assert_eq!(read[0].1, 1);
    assert_eq!(read[0].3, vec![0]);
}
