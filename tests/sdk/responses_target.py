"""Chat-completions (official `openai` SDK) and Messages (official `anthropic` SDK)
clients of a target that serves only the OpenAI Responses API (`api: responses`):
text, streamed text and a tool call each, translated both ways by tollgate.

Usage: python responses_target.py <gateway host:port> <model> <key>
Exits non-zero (AssertionError) on any mismatch.
"""
import json
import sys

import anthropic
from openai import OpenAI

addr, model, key = sys.argv[1], sys.argv[2], sys.argv[3]
oai = OpenAI(base_url=f"http://{addr}/v1", api_key=key, max_retries=0)
ant = anthropic.Anthropic(base_url=f"http://{addr}", api_key=key, max_retries=0)
tools_oai = [{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
tools_ant = [{"name": "get_weather", "description": "Weather of a city",
              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]

# Chat completions: plain, streamed, a tool call and its result.
r = oai.chat.completions.create(model=model, messages=[{"role": "user", "content": "Say hi"}])
assert r.choices[0].message.content.startswith("tok0"), r
assert r.choices[0].finish_reason == "stop", r
assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0, r.usage
text, usage = "", None
for chunk in oai.chat.completions.create(model=model, messages=[{"role": "user", "content": "Say hi"}],
                                         stream=True, stream_options={"include_usage": True}):
    if chunk.choices and chunk.choices[0].delta.content:
        text += chunk.choices[0].delta.content
    if chunk.usage:
        usage = chunk.usage
assert text.startswith("tok0") and usage and usage.completion_tokens > 0, (text, usage)
r = oai.chat.completions.create(model=model, messages=[{"role": "user", "content": "Weather?"}], tools=tools_oai)
call = r.choices[0].message.tool_calls[0]
assert r.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather", r
json.loads(call.function.arguments)
r = oai.chat.completions.create(model=model, tools=tools_oai, messages=[
    {"role": "user", "content": "Weather?"},
    r.choices[0].message.model_dump(exclude_none=True),
    {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
])
assert r.choices[0].message.content.startswith("tok0"), r
args = ""
for chunk in oai.chat.completions.create(model=model, messages=[{"role": "user", "content": "Weather?"}],
                                         tools=tools_oai, stream=True):
    for tc in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
        args += tc.function.arguments or ""
assert json.loads(args) is not None, args

# Messages: plain, streamed, a tool use.
m = ant.messages.create(model=model, max_tokens=64, messages=[{"role": "user", "content": "Say hi"}])
assert m.content[0].type == "text" and m.content[0].text.startswith("tok0"), m
assert m.stop_reason == "end_turn" and m.usage.output_tokens > 0, m
with ant.messages.stream(model=model, max_tokens=64, messages=[{"role": "user", "content": "Say hi"}]) as s:
    streamed = "".join(s.text_stream)
    final = s.get_final_message()
assert streamed.startswith("tok0") and final.content[0].text == streamed, (streamed, final)
m = ant.messages.create(model=model, max_tokens=64, tools=tools_ant,
                        messages=[{"role": "user", "content": "Weather?"}])
use = [b for b in m.content if b.type == "tool_use"]
assert m.stop_reason == "tool_use" and use and use[0].name == "get_weather", m
with ant.messages.stream(model=model, max_tokens=64, tools=tools_ant,
                         messages=[{"role": "user", "content": "Weather?"}]) as s:
    final = s.get_final_message()
assert final.stop_reason == "tool_use" and final.content[-1].type == "tool_use", final

print("responses target: all checks passed")
