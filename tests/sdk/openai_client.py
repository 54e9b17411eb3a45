"""The official OpenAI Python SDK as a tollgate client.

Usage: python openai_client.py <gateway host:port>
Exits non-zero (AssertionError) on any mismatch.
"""
import sys

import openai
from openai import OpenAI

addr = sys.argv[1]
client = OpenAI(base_url=f"http://{addr}/v1", api_key=sys.argv[2] if len(sys.argv) > 2 else "sk-test", max_retries=0)

# Non-streaming chat.
resp = client.chat.completions.create(
    model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hi"}]
)
assert resp.object == "chat.completion", resp
assert resp.choices[0].message.content.startswith("tok0"), resp
assert resp.usage.completion_tokens > 0, resp.usage

# Streaming chat through the SDK's iterator.
text = ""
chunks = 0
for chunk in client.chat.completions.create(
    model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hi"}], stream=True
):
    chunks += 1
    if chunk.choices and chunk.choices[0].delta.content:
        text += chunk.choices[0].delta.content
assert chunks >= 3, chunks
assert text.startswith("tok0"), text

# Streaming with usage.
usage = None
for chunk in client.chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": "Say hi"}],
    stream=True,
    stream_options={"include_usage": True},
):
    if chunk.usage:
        usage = chunk.usage
assert usage is not None and usage.completion_tokens > 0, usage

# Tool calls.
resp = client.chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": "weather in Paris?"}],
    tools=[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}],
)
assert resp.choices[0].finish_reason == "tool_calls", resp
assert resp.choices[0].message.tool_calls[0].function.name == "get_weather", resp

# Embeddings and models.
emb = client.embeddings.create(model="gpt-4o-mini", input=["a", "b"])
assert len(emb.data) == 2 and len(emb.data[0].embedding) > 0, emb
models = [m.id for m in client.models.list()]
assert "gpt-4o-mini" in models, models
one = client.models.retrieve("gpt-4o-mini")
assert one.id == "gpt-4o-mini" and one.object == "model", one
try:
    client.models.retrieve("no-such-model")
    raise AssertionError("expected NotFoundError")
except openai.NotFoundError as e:
    assert e.status_code == 404, e

# Errors surface as the SDK's own exception types.
try:
    client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    raise AssertionError("expected NotFoundError")
except openai.NotFoundError as e:
    assert e.status_code == 404
    assert e.body["code"] == "model_not_found", e.body

try:
    client.chat.completions.create(model="gpt-4o-mini", messages="not a list")
    raise AssertionError("expected BadRequestError")
except openai.BadRequestError as e:
    assert e.status_code == 400

print("openai sdk: all checks passed")
