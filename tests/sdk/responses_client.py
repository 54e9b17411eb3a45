"""The official OpenAI Python SDK's Responses API as a tollgate client, on a
translated route (the upstream speaks another format) or a pass-through one (the
upstream serves the Responses API itself).

Usage: python responses_client.py <gateway host:port> <model> [translated|passthrough]
Exits non-zero (AssertionError) on any mismatch.
"""
import json
import sys

import openai
from openai import OpenAI

addr, model = sys.argv[1], sys.argv[2]
passthrough = len(sys.argv) > 3 and sys.argv[3] == "passthrough"
client = OpenAI(base_url=f"http://{addr}/v1", api_key="sk-test", max_retries=0)

# Text, not streamed.
resp = client.responses.create(model=model, input="Say hi", instructions="Be brief.")
assert resp.object == "response", resp
assert resp.status == "completed", resp
assert resp.id.startswith("resp_"), resp.id
assert resp.output_text.startswith("tok0"), resp.output_text
assert resp.usage.input_tokens > 0 and resp.usage.output_tokens > 0, resp.usage
assert resp.usage.total_tokens == resp.usage.input_tokens + resp.usage.output_tokens
assert resp.usage.input_tokens_details.cached_tokens == 0, resp.usage

# Text, streamed through the SDK's helper: events in order, numbered from 0.
kinds, seqs, deltas = [], [], ""
with client.responses.stream(model=model, input=[{"role": "user", "content": [{"type": "input_text", "text": "Say hi"}]}]) as stream:
    for event in stream:
        kinds.append(event.type)
        seqs.append(event.sequence_number)
        if event.type == "response.output_text.delta":
            deltas += event.delta
    final = stream.get_final_response()
assert seqs == list(range(len(seqs))), seqs
assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"], kinds
assert kinds[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"], kinds
assert deltas.startswith("tok0") and final.output_text == deltas, (deltas, final.output_text)
assert final.usage.output_tokens > 0, final.usage

# A function-call round trip: the call, then its output sent back.
tools = [{"type": "function", "name": "get_weather", "description": "Weather of a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}]
first = client.responses.create(model=model, input="Weather in Paris?", tools=tools)
calls = [i for i in first.output if i.type == "function_call"]
assert len(calls) == 1 and calls[0].name == "get_weather", first.output
json.loads(calls[0].arguments)
second = client.responses.create(
    model=model,
    tools=tools,
    input=[
        {"role": "user", "content": "Weather in Paris?"},
        *[i.model_dump(exclude_none=True) for i in first.output],
        {"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny, 21 C"},
    ],
)
assert second.output_text.startswith("tok0"), second.output
assert not [i for i in second.output if i.type == "function_call"], second.output

# The same call, streamed: arguments arrive as deltas and match the done event.
args, done_args = "", None
with client.responses.stream(model=model, input="Weather in Paris?", tools=tools) as stream:
    for event in stream:
        if event.type == "response.function_call_arguments.delta":
            args += event.delta
        if event.type == "response.function_call_arguments.done":
            done_args = event.arguments
    final = stream.get_final_response()
assert args == done_args and json.loads(args), (args, done_args)
assert final.output[-1].type == "function_call" and final.output[-1].arguments == args, final.output

# JSON schema output.
resp = client.responses.create(
    model=model,
    input="A city, please",
    text={"format": {"type": "json_schema", "name": "city", "strict": True,
                     "schema": {"type": "object", "properties": {"input": {"type": "string"}},
                                "required": ["input"], "additionalProperties": False}}},
)
assert resp.status == "completed", resp
assert resp.output_text, resp.output

# Built-in tools: a target serving the Responses API gets them; elsewhere they are
# refused by name. Errors are the SDK's own exception types.
if passthrough:
    resp = client.responses.create(model=model, input="x", tools=[{"type": "web_search_preview"}])
    assert resp.status == "completed", resp
else:
    try:
        client.responses.create(model=model, input="x", tools=[{"type": "web_search_preview"}])
        raise AssertionError("expected BadRequestError")
    except openai.BadRequestError as e:
        assert e.status_code == 400 and "web_search_preview" in e.body["message"], e.body
try:
    client.responses.create(model="no-such-model", input="x")
    raise AssertionError("expected NotFoundError")
except openai.NotFoundError as e:
    assert e.body["code"] == "model_not_found", e.body

print("responses sdk: all checks passed")
