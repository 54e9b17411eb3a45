"""The official OpenAI and Anthropic Python SDKs as clients of ONE long-lived gateway,
running named scenarios one after the other.

Usage: python scenarios.py <gateway host:port> <order>
  order: forward | reverse | shuffle:<seed>

Every scenario asserts exactly what it asserts when run alone on a fresh gateway: an
upstream's 400, 429, 500, 529 or timeout reaches the client as that outcome, and the
next request for the same model (and for the other model on the same endpoint) is
served. The failing scenarios sit between scenarios that expect success on the same
provider, endpoint and models, so that both `forward` and `reverse` put a success
right after every failure.

The gateway's config (tests/e2e_sdk_sequence.rs):
  a, b               provider `p` (OpenAI format, ONE base_url): gpt-4o-mini, gpt-4.1
  a-fast             provider `p`, gpt-4o-mini, with a 400 ms first-byte timeout
  emb                provider `p`, text-embedding-3-small
  claude-translated  provider `p`, gpt-4o-mini, for Anthropic clients (translated)
  claude-native      provider `ant` (Anthropic format), claude-upstream
  pooled             provider `pair`: a dead endpoint and a live one
  fb                 provider `down` (always 503), falling back to `c`
  c                  provider `q`, gpt-4o

The upstream is a mock driven per request by `x-mock-*` headers, which the gateway
forwards. Prints `ok <name> <seconds>` or `FAIL <name>: <reason>` per scenario and
exits non-zero when any failed, after running all of them.
"""
import random
import sys
import time
import traceback

import anthropic
import openai

ADDR = sys.argv[1]
ORDER = sys.argv[2] if len(sys.argv) > 2 else "forward"

# No SDK retries: the client must see what the gateway answers.
oai = openai.OpenAI(base_url=f"http://{ADDR}/v1", api_key="sk-test", max_retries=0, timeout=10.0)
ant = anthropic.Anthropic(base_url=f"http://{ADDR}", api_key="sk-test", max_retries=0, timeout=10.0)

HI = [{"role": "user", "content": "Say hi"}]
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
ANT_TOOLS = [{"name": "get_weather", "description": "Weather for a city",
              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]


def expect_error(call, cls, status):
    """Run `call`, which must raise the SDK's `cls` with HTTP `status`; return it."""
    try:
        result = call()
    except cls as e:
        assert e.status_code == status, f"{type(e).__name__} {e.status_code}, expected {status}: {e.body}"
        return e
    except (openai.APIStatusError, anthropic.APIStatusError) as e:
        raise AssertionError(f"expected {cls.__name__} {status}, got {type(e).__name__} {e.status_code}: {e.body}") from None
    raise AssertionError(f"expected {cls.__name__} {status}, got a success: {result}")


def error_message(e):
    """The error message of an SDK error body in either dialect."""
    body = e.body if isinstance(e.body, dict) else {}
    if isinstance(body.get("error"), dict):
        return str(body["error"].get("message", ""))
    return str(body.get("message", e.body))


def assert_upstream_said(e, status):
    """The client got the upstream's own answer (the mock's message), not one the
    gateway made up."""
    message = error_message(e)
    assert f"forced status {status}" in message, f"not the upstream's {status}: {e.status_code} {e.body}"


def header(e, name):
    return e.response.headers.get(name) if e.response is not None else None


def chat_text(model, **kw):
    raw = oai.chat.completions.with_raw_response.create(model=model, messages=HI, **kw)
    resp = raw.parse()
    assert resp.object == "chat.completion", resp
    assert resp.choices[0].message.content.startswith("tok0"), resp
    assert resp.usage.completion_tokens > 0, resp.usage
    return raw, resp


# ---------------------------------------------------------------------------------
# Scenarios that expect success.

def chat():
    for model in ("a", "b"):
        raw, _ = chat_text(model)
        assert raw.headers.get("x-tollgate-provider") == "p", dict(raw.headers)


def stream():
    for model in ("a", "b"):
        text, chunks = "", 0
        for chunk in oai.chat.completions.create(model=model, messages=HI, stream=True):
            chunks += 1
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
        assert chunks >= 3, (model, chunks)
        assert text.startswith("tok0"), (model, text)


def stream_with_usage():
    for model in ("a", "b"):
        usage, finish = None, None
        for chunk in oai.chat.completions.create(
            model=model, messages=HI, stream=True, stream_options={"include_usage": True}
        ):
            if chunk.usage:
                usage = chunk.usage
            if chunk.choices and chunk.choices[0].finish_reason:
                finish = chunk.choices[0].finish_reason
        assert usage is not None and usage.completion_tokens > 0, (model, usage)
        assert finish == "stop", (model, finish)


def tools():
    for model in ("a", "b"):
        resp = oai.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "weather in Paris?"}], tools=TOOLS
        )
        assert resp.choices[0].finish_reason == "tool_calls", resp
        call = resp.choices[0].message.tool_calls[0]
        assert call.function.name == "get_weather" and call.id, resp


def embeddings_and_models():
    emb = oai.embeddings.create(model="emb", input=["a", "b"])
    assert len(emb.data) == 2 and len(emb.data[0].embedding) > 0, emb
    models = [m.id for m in oai.models.list()]
    for name in ("a", "b", "emb", "claude-native"):
        assert name in models, models


def large_body():
    # A few MiB of prompt, through routing on the body and to the upstream whole.
    content = "lorem ipsum dolor sit amet " * (3 * 1024 * 1024 // 27)
    for model in ("a", "b"):
        resp = oai.chat.completions.create(model=model, messages=[{"role": "user", "content": content}])
        assert resp.choices[0].message.content.startswith("tok0"), resp
        # The mock counts a prompt token per 4 bytes of the body it received.
        assert resp.usage.prompt_tokens >= len(content) // 4, (model, resp.usage, len(content))


def anthropic_translated():
    msg = ant.messages.create(model="claude-translated", max_tokens=64, system="Be brief.", messages=HI)
    assert msg.type == "message", msg
    assert msg.content[0].type == "text" and msg.content[0].text.startswith("tok0"), msg
    assert msg.stop_reason == "end_turn", msg
    assert msg.usage.output_tokens > 0, msg.usage
    msg = ant.messages.create(model="claude-translated", max_tokens=64, tools=ANT_TOOLS,
                              messages=[{"role": "user", "content": "Weather in Paris?"}])
    assert msg.stop_reason == "tool_use", msg
    assert any(b.type == "tool_use" and b.name == "get_weather" for b in msg.content), msg


def anthropic_translated_stream():
    with ant.messages.stream(model="claude-translated", max_tokens=64, messages=HI) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text.startswith("tok0"), text
    assert final.stop_reason == "end_turn", final
    assert final.usage.output_tokens > 0, final.usage


def anthropic_native():
    msg = ant.messages.create(model="claude-native", max_tokens=64, system="Be brief.", messages=HI)
    assert msg.type == "message", msg
    assert msg.content[0].type == "text" and msg.content[0].text.startswith("tok0"), msg
    assert msg.stop_reason == "end_turn", msg
    assert msg.usage.output_tokens > 0, msg.usage


def anthropic_native_stream():
    with ant.messages.stream(model="claude-native", max_tokens=64, messages=HI) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text.startswith("tok0"), text
    assert final.stop_reason == "end_turn", final
    with ant.messages.stream(model="claude-native", max_tokens=64, tools=ANT_TOOLS,
                             messages=[{"role": "user", "content": "Weather?"}]) as s:
        final = s.get_final_message()
    assert final.stop_reason == "tool_use", final


def failover_to_second_endpoint():
    # `pair` has a dead endpoint (nothing listens) and a live one: every request is
    # served, by the live one.
    for _ in range(4):
        raw, _ = chat_text("pooled")
        assert raw.headers.get("x-tollgate-provider") == "pair", dict(raw.headers)


def fallback_to_other_route():
    # `fb`'s only provider answers 503 to everything; its fallback `c` serves.
    for _ in range(4):
        raw, _ = chat_text("fb")
        assert raw.headers.get("x-tollgate-provider") == "q", dict(raw.headers)


# ---------------------------------------------------------------------------------
# Scenarios where the upstream fails (or the client leaves): the client gets the
# upstream's own outcome in its SDK's exception type.

def upstream_400():
    e = expect_error(lambda: oai.chat.completions.create(
        model="a", messages=HI, extra_headers={"x-mock-status": "400"}), openai.BadRequestError, 400)
    assert_upstream_said(e, 400)
    # A client error is not retried.
    attempts = header(e, "x-tollgate-attempts")
    assert attempts in (None, "1"), attempts


def upstream_429():
    e = expect_error(lambda: oai.chat.completions.create(
        model="a", messages=HI, extra_headers={"x-mock-status": "429"}), openai.RateLimitError, 429)
    assert_upstream_said(e, 429)


def upstream_429_retry_after():
    start = time.monotonic()
    e = expect_error(lambda: oai.chat.completions.create(
        model="b", messages=HI, extra_headers={"x-mock-status": "429", "x-mock-retry-after": "1"}),
        openai.RateLimitError, 429)
    elapsed = time.monotonic() - start
    assert_upstream_said(e, 429)
    after = header(e, "retry-after")
    assert after is not None and int(after) == 1, f"retry-after {after!r}: {dict(e.response.headers)}"
    # The gateway honoured it: no retry before the second the upstream asked for.
    attempts = int(header(e, "x-tollgate-attempts") or "1")
    assert elapsed >= (attempts - 1) * 0.95, f"{attempts} attempts in {elapsed:.2f} s"
    # And so does this client, as the SDK's own retry loop would.
    time.sleep(int(after))


def upstream_500():
    e = expect_error(lambda: oai.chat.completions.create(
        model="b", messages=HI, extra_headers={"x-mock-status": "500"}), openai.InternalServerError, 500)
    assert_upstream_said(e, 500)


def upstream_timeout():
    # `a-fast` is gpt-4o-mini on `p` with a 400 ms first-byte timeout; the upstream
    # never answers.
    start = time.monotonic()
    e = expect_error(lambda: oai.chat.completions.create(
        model="a-fast", messages=HI, extra_headers={"x-mock-hang": "1"}), openai.InternalServerError, 504)
    elapsed = time.monotonic() - start
    assert elapsed < 8, f"504 after {elapsed:.2f} s"
    assert "healthy" not in error_message(e).lower(), e.body


def anthropic_429_translated():
    e = expect_error(lambda: ant.messages.create(
        model="claude-translated", max_tokens=64, messages=HI, extra_headers={"x-mock-status": "429"}),
        anthropic.RateLimitError, 429)
    assert e.body["type"] == "error" and e.body["error"]["type"] == "rate_limit_error", e.body
    assert_upstream_said(e, 429)


def anthropic_529_native():
    e = expect_error(lambda: ant.messages.create(
        model="claude-native", max_tokens=64, messages=HI, extra_headers={"x-mock-status": "529"}),
        anthropic.InternalServerError, 529)
    assert e.body["type"] == "error" and e.body["error"]["type"] == "overloaded_error", e.body
    assert_upstream_said(e, 529)


def client_disconnect_mid_stream():
    # A long, slow stream; the client reads a few chunks and hangs up.
    s = oai.chat.completions.create(model="a", messages=HI, stream=True,
                                    extra_headers={"x-mock-tokens": "400", "x-mock-delay-ms": "20"})
    text, pieces = "", 0
    for chunk in s:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
            pieces += 1
            if pieces >= 3:
                break
    s.close()
    assert pieces >= 3 and text.startswith("tok0"), text


# Failures alternate with successes on the same provider and models, so that in
# both directions each failure is followed by requests that must be served.
SCENARIOS = [
    chat,
    upstream_400,
    stream,
    upstream_429,
    tools,
    upstream_500,
    upstream_timeout,
    stream_with_usage,
    upstream_429_retry_after,
    large_body,
    client_disconnect_mid_stream,
    anthropic_translated,
    anthropic_429_translated,
    anthropic_translated_stream,
    embeddings_and_models,
    anthropic_native,
    anthropic_529_native,
    anthropic_native_stream,
    failover_to_second_endpoint,
    fallback_to_other_route,
]


def ordered(order):
    runs = list(SCENARIOS)
    if order == "forward":
        return runs
    if order == "reverse":
        return runs[::-1]
    if order.startswith("shuffle:"):
        random.Random(int(order.split(":", 1)[1])).shuffle(runs)
        return runs
    raise SystemExit(f"unknown order {order!r}: forward, reverse or shuffle:<seed>")


def main():
    failed = 0
    for scenario in ordered(ORDER):
        start = time.monotonic()
        try:
            scenario()
        except Exception as e:  # noqa: BLE001 - every failure is reported, then the next runs
            failed += 1
            where = traceback.extract_tb(e.__traceback__)[-1]
            reason = f"{type(e).__name__}: {e}".replace("\n", " ")
            print(f"FAIL {scenario.__name__}: {reason[:600]} (line {where.lineno})", flush=True)
        else:
            print(f"ok {scenario.__name__} {time.monotonic() - start:.2f}s", flush=True)
    print(f"{ORDER}: {len(SCENARIOS) - failed} of {len(SCENARIOS)} scenarios passed", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
