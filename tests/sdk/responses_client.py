"""The official OpenAI Python SDK's Responses API as a tollgate client, on a
translated route (the upstream speaks another format) or a pass-through one (the
upstream serves the Responses API itself).

Then a 3-turn `previous_response_id` chain: on a translated route tollgate keeps
the conversation (GET and DELETE /v1/responses/{id}, ids of other keys are 404s); on a
pass-through route every turn goes to the target that holds the conversation
(`passthrough-pair`: a route of two Responses targets, where chains start on both).

Usage: python responses_client.py <gateway host:port> <model>
           [translated|passthrough|passthrough-pair] [key [other key]]
Exits non-zero (AssertionError) on any mismatch.
"""
import json
import sys

import openai
from openai import OpenAI

addr, model = sys.argv[1], sys.argv[2]
mode = sys.argv[3] if len(sys.argv) > 3 else "translated"
passthrough = mode.startswith("passthrough")
key = sys.argv[4] if len(sys.argv) > 4 else "sk-test"
other_key = sys.argv[5] if len(sys.argv) > 5 else None
client = OpenAI(base_url=f"http://{addr}/v1", api_key=key, max_retries=0)

# Text, not streamed.
resp = client.responses.create(model=model, input="Say hi", instructions="Be brief.")
assert resp.object == "response", resp
assert resp.status == "completed", resp
assert resp.id.startswith("resp_"), resp.id
assert resp.output_text.startswith("tok0"), resp.output_text
assert resp.usage.input_tokens > 0 and resp.usage.output_tokens > 0, resp.usage
assert resp.usage.total_tokens == resp.usage.input_tokens + resp.usage.output_tokens
assert resp.usage.input_tokens_details.cached_tokens == 0, resp.usage
if not passthrough:
    # The Response repeats the request's parameters (the mock's own do not).
    assert resp.instructions == "Be brief." and resp.store is True, resp

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



def not_found(call):
    """`call()` raises the SDK's NotFoundError in OpenAI's error shape."""
    try:
        call()
    except openai.NotFoundError as e:
        assert e.status_code == 404 and "not found" in e.body["message"], e.body
        return e.body
    raise AssertionError("expected NotFoundError")


def turn(text, previous=None, stream=False):
    """One turn; returns (Response, the provider that answered it)."""
    raw = client.responses.with_raw_response.create(
        model=model, input=text, previous_response_id=previous, stream=stream)
    provider = raw.headers.get("x-tollgate-provider")
    if not stream:
        return raw.parse(), provider
    final = None
    for event in raw.parse():
        if event.type == "response.completed":
            final = event.response
    assert final is not None, "stream without response.completed"
    return final, provider


def chain(tag):
    """A 3-turn chain, the last turn streamed; the Responses and their providers."""
    r1, p1 = turn(f"My name is Ada ({tag}).")
    r2, p2 = turn("What is my name?", previous=r1.id)
    r3, p3 = turn("And once more?", previous=r2.id, stream=True)
    for r in (r1, r2, r3):
        assert r.status == "completed" and r.output_text.startswith("tok0"), r
    assert len({r1.id, r2.id, r3.id}) == 3, (r1.id, r2.id, r3.id)
    return (r1, r2, r3), (p1, p2, p3)


if passthrough:
    # Each chain stays with the target that answered its first turn.
    starts = set()
    for n in range(4):
        _, providers = chain(f"pass {n}")
        assert len(set(providers)) == 1, providers
        starts.add(providers[0])
    if mode == "passthrough-pair":
        assert len(starts) == 2, starts
    # tollgate holds no copy of a provider's response: GET, input_items and DELETE
    # go to the provider that holds it (the mock answers for its own ids).
    (r1, _, _), _ = chain("pass get")
    got = client.responses.retrieve(r1.id)
    assert got.id == r1.id and r1.id in got.output_text, got
    items = client.responses.input_items.list(r1.id)
    assert items.data[0].type == "message" and r1.id in items.data[0].content[0].text, items
    if other_key:
        other = OpenAI(base_url=f"http://{addr}/v1", api_key=other_key, max_retries=0)
        not_found(lambda: other.responses.retrieve(r1.id))
        not_found(lambda: other.responses.delete(r1.id))
    assert client.responses.delete(r1.id) is None
    # Deleted at the provider: tollgate forgets which provider held it.
    not_found(lambda: client.responses.retrieve(r1.id))
    not_found(lambda: client.responses.retrieve("resp_mock_never_issued"))
else:
    (r1, r2, r3), _ = chain("translated")
    assert r2.previous_response_id == r1.id and r3.previous_response_id == r2.id, (r2, r3)
    got = client.responses.retrieve(r3.id)
    assert got.id == r3.id and got.output_text == r3.output_text, (got, r3)
    assert got.previous_response_id == r2.id and got.store is True, got
    assert client.responses.retrieve(r1.id).output_text == r1.output_text
    # The model's input for the third turn: the whole chain, newest first by default,
    # paged with `after` (the SDK follows the pages when iterated).
    items = client.responses.input_items.list(r3.id)
    assert items.data[0].content[0].text == "And once more?", items
    assert [i.id for i in items.data] == [i.id for i in client.responses.input_items.list(r3.id).data]
    paged = list(client.responses.input_items.list(r3.id, order="asc", limit=2))
    texts = [i.content[0].text for i in paged]
    assert len(texts) == 5 and texts[0] == "My name is Ada (translated)." and texts[2] == "What is my name?", texts
    assert texts[1].startswith("tok0") and texts[4] == "And once more?", texts
    try:
        client.responses.input_items.list(r3.id, limit=500)
        raise AssertionError("expected BadRequestError")
    except openai.BadRequestError as e:
        assert e.body["param"] == "limit", e.body
    if other_key:
        other = OpenAI(base_url=f"http://{addr}/v1", api_key=other_key, max_retries=0)
        not_found(lambda: other.responses.retrieve(r3.id))
        not_found(lambda: other.responses.delete(r3.id))
        body = not_found(lambda: other.responses.create(
            model=model, input="x", previous_response_id=r3.id))
        assert body["param"] == "previous_response_id", body
    assert client.responses.delete(r3.id) is None
    not_found(lambda: client.responses.retrieve(r3.id))
    not_found(lambda: client.responses.delete(r3.id))
    not_found(lambda: client.responses.create(model=model, input="x", previous_response_id=r3.id))
    # The rest of the chain is still there.
    r4, _ = turn("Still there?", previous=r2.id)
    assert r4.output_text.startswith("tok0"), r4
    not_found(lambda: client.responses.retrieve("resp_unknown"))
    # store=false is not kept.
    unstored = client.responses.create(model=model, input="forget me", store=False)
    assert unstored.store is False, unstored
    not_found(lambda: client.responses.retrieve(unstored.id))

print("responses sdk: all checks passed")
