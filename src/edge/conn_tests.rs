use super::*;

#[test]
fn slots_count_per_process_and_per_ip_and_give_back() {
    let limits = ClientLimits {
        max_connections: 0,
        max_connections_per_ip: 2,
        ..ClientLimits::default()
    };
    // An address no other test uses.
    let ip: IpAddr = "127.9.9.9".parse().unwrap();
    let per_ip = || PER_IP.lock().unwrap().get(&ip).copied().unwrap_or(0);
    let a = ConnSlot::take(Some(ip), &limits).unwrap();
    let b = ConnSlot::take(Some(ip), &limits).unwrap();
    assert!(ConnSlot::take(Some(ip), &limits).is_none());
    assert_eq!(per_ip(), 2);
    drop(a);
    assert_eq!(per_ip(), 1);
    let c = ConnSlot::take(Some(ip), &limits).unwrap();
    drop((b, c));
    assert_eq!(per_ip(), 0);
    assert!(PER_IP.lock().unwrap().get(&ip).is_none(), "entry removed");
}

#[test]
fn refusals_answer_in_the_dialect_of_the_request_line() {
    let a = String::from_utf8(dialect_refusal(
        408,
        b"POST /v1/messages HTTP/1.1",
        "timeout_error",
        "slow",
    ))
    .unwrap();
    assert!(a.starts_with("HTTP/1.1 408 Request Timeout\r\n"));
    assert!(
        a.contains(r#"{"error":{"message":"slow","type":"timeout_error"},"type":"error"}"#),
        "{a}"
    );
    let o = String::from_utf8(dialect_refusal(
        431,
        b"POST /v1/chat/completions",
        "invalid_request_error",
        "big",
    ))
    .unwrap();
    assert!(o.contains(r#""error":{"code":null,"message":"big""#), "{o}");
    assert!(o.contains("connection: close\r\n"));
    let g = String::from_utf8(dialect_refusal(
        408,
        b"POST /v1beta/models/m:generateContent?alt=sse",
        "timeout_error",
        "slow",
    ))
    .unwrap();
    assert!(
        g.contains(r#"{"error":{"code":408,"message":"slow","status":"DEADLINE_EXCEEDED"}}"#),
        "{g}"
    );
}
