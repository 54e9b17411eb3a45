"""The official Anthropic Python SDK as a tollgate client.

Usage: python anthropic_client.py <gateway host:port> [api key]
The gateway routes `claude-test` to an OpenAI-format upstream (translated both
ways) and `claude-native` to an Anthropic-format upstream (passed through).
Exits non-zero (AssertionError) on any mismatch.
"""
import sys

import anthropic

addr = sys.argv[1]
client = anthropic.Anthropic(base_url=f"http://{addr}", api_key=sys.argv[2] if len(sys.argv) > 2 else "sk-test", max_retries=0)

for model in ("claude-test", "claude-native"):
    msg = client.messages.create(model=model, max_tokens=64, system="Be brief.", messages=[{"role": "user", "content": "Say hi"}])
    assert msg.type == "message", msg
    assert msg.content[0].type == "text" and msg.content[0].text.startswith("tok0"), msg
    assert msg.stop_reason == "end_turn", msg
    assert msg.usage.output_tokens > 0, msg.usage

    # The SDK's streaming helper: text_stream and the final accumulated message.
    with client.messages.stream(model=model, max_tokens=64, messages=[{"role": "user", "content": "Say hi"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text.startswith("tok0"), text
    assert final.stop_reason == "end_turn", final
    assert final.usage.output_tokens > 0, final.usage

    # Tool use, non-streaming and streaming.
    tools = [{"name": "get_weather", "description": "Weather for a city",
              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]
    msg = client.messages.create(model=model, max_tokens=64, tools=tools, messages=[{"role": "user", "content": "Weather in Paris?"}])
    assert msg.stop_reason == "tool_use", msg
    block = next(b for b in msg.content if b.type == "tool_use")
    assert block.name == "get_weather" and block.id, block
    with client.messages.stream(model=model, max_tokens=64, tools=tools, messages=[{"role": "user", "content": "Weather?"}]) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use", final
    assert any(b.type == "tool_use" and b.name == "get_weather" for b in final.content), final

    # Send the tool result back: the conversation continues.
    follow = client.messages.create(model=model, max_tokens=64, tools=tools, messages=[
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": block.id, "name": "get_weather", "input": {"city": "Paris"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "18 C, sunny"}]},
    ])
    assert follow.content and follow.stop_reason in ("end_turn", "tool_use"), follow

# count_tokens
count = client.messages.count_tokens(model="claude-test", messages=[{"role": "user", "content": "hello there"}])
assert count.input_tokens > 0, count

# Errors surface as the SDK's own exception types.
try:
    client.messages.create(model="no-such-model", max_tokens=10, messages=[{"role": "user", "content": "x"}])
    raise AssertionError("expected NotFoundError")
except anthropic.NotFoundError as e:
    assert e.status_code == 404
    assert e.body["type"] == "error" and e.body["error"]["type"] == "not_found_error", e.body

print("anthropic sdk: all checks passed")
