"""The official google-genai Python SDK as a tollgate client (Gemini-native ingress).

Usage:
  python genai_client.py <gateway host:port> <key> chat <model> [passthrough]
      generate_content and generate_content_stream: text, a function-call round trip
      (the call, then its functionResponse sent back), a streamed call, countTokens,
      and the SDK's own errors for a bad key and an unknown model.
  python genai_client.py <gateway host:port> <key> embed <model> <dims>
      embed_content with one and with three texts.
Exits non-zero (AssertionError) on any mismatch.
"""
import sys

from google import genai
from google.genai import errors, types

addr, key, mode, model = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]


def client_with(api_key):
    return genai.Client(
        api_key=api_key,
        http_options=types.HttpOptions(
            base_url=f"http://{addr}",
            api_version="v1beta",
            retry_options=types.HttpRetryOptions(attempts=1),
        ),
    )


client = client_with(key)


def chat():
    # Text, not streamed.
    resp = client.models.generate_content(
        model=model,
        contents="Say hi",
        config=types.GenerateContentConfig(system_instruction="Be brief.", max_output_tokens=64, temperature=0.2),
    )
    assert resp.text.startswith("tok0"), resp
    assert resp.candidates[0].finish_reason == types.FinishReason.STOP, resp
    assert resp.candidates[0].content.role == "model", resp
    usage = resp.usage_metadata
    assert usage.prompt_token_count > 0 and usage.candidates_token_count > 0, usage
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count, usage
    # Translated answers name the model the client asked for; a Gemini target's
    # answer passes untouched and names the upstream's.
    passthrough = len(sys.argv) > 5 and sys.argv[5] == "passthrough"
    assert resp.model_version == model or (passthrough and resp.model_version), resp.model_version
    assert resp.response_id, resp

    # Text, streamed.
    text, last, n = "", None, 0
    for chunk in client.models.generate_content_stream(model=model, contents="Say hi"):
        text += chunk.text or ""
        last, n = chunk, n + 1
    assert n > 2, n
    assert text.startswith("tok0"), text
    assert last.candidates[0].finish_reason == types.FinishReason.STOP, last
    assert last.usage_metadata.candidates_token_count > 0, last.usage_metadata

    # A function-call round trip.
    weather = types.FunctionDeclaration(
        name="get_weather",
        description="Weather of a city",
        parameters=types.Schema(
            type=types.Type.OBJECT,
            properties={"city": types.Schema(type=types.Type.STRING)},
            required=["city"],
        ),
    )
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[weather])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    question = types.Content(role="user", parts=[types.Part(text="Weather in Paris?")])
    first = client.models.generate_content(model=model, contents=[question], config=config)
    calls = first.function_calls
    assert calls and len(calls) == 1 and calls[0].name == "get_weather", first
    assert isinstance(calls[0].args, dict), calls[0]
    answer = types.Part.from_function_response(name="get_weather", response={"output": "sunny, 21 C"})
    second = client.models.generate_content(
        model=model,
        contents=[question, first.candidates[0].content, types.Content(role="user", parts=[answer])],
        config=config,
    )
    assert second.text.startswith("tok0"), second
    assert not second.function_calls, second

    # The call, streamed: it arrives whole in one chunk.
    chunks = list(client.models.generate_content_stream(model=model, contents=[question], config=config))
    streamed = [c for ch in chunks for c in (ch.function_calls or [])]
    assert len(streamed) == 1 and streamed[0].name == "get_weather", chunks

    # The models the key may use, in Gemini's list shape.
    names = [m.name for m in client.models.list()]
    assert f"models/{model}" in names, names
    got = client.models.get(model=model)
    assert got.name == f"models/{model}" and "generateContent" in got.supported_actions, got

    # countTokens.
    counted = client.models.count_tokens(model=model, contents="Say hi to everyone in the room")
    assert counted.total_tokens > 0, counted

    # The SDK's own errors: a bad key, an unknown model.
    # Kept in a name: a client garbage-collected mid-call closes its connection pool.
    stranger = client_with("sk-not-a-tollgate-key")
    try:
        stranger.models.generate_content(model=model, contents="hi")
    except errors.ClientError as e:
        assert e.code == 401 and e.status == "UNAUTHENTICATED", (e.code, e.status)
    else:
        raise AssertionError("a bad key was accepted")
    try:
        client.models.generate_content(model="no-such-model", contents="hi")
    except errors.ClientError as e:
        assert e.code == 404 and e.status == "NOT_FOUND", (e.code, e.status)
    else:
        raise AssertionError("an unknown model was served")


def embed(dims):
    one = client.models.embed_content(
        model=model,
        contents="What is the meaning of life?",
        config=types.EmbedContentConfig(output_dimensionality=dims),
    )
    assert len(one.embeddings) == 1 and len(one.embeddings[0].values) == dims, one
    many = client.models.embed_content(
        model=model,
        contents=["What is the meaning of life?", "How much wood would a woodchuck chuck?", "How does the brain work?"],
        config=types.EmbedContentConfig(task_type="RETRIEVAL_DOCUMENT", output_dimensionality=dims),
    )
    assert len(many.embeddings) == 3, (len(many.embeddings), [len(e.values) for e in many.embeddings])
    assert all(len(e.values) == dims for e in many.embeddings), many
    # Deterministic per text: the same first text, the same vector.
    assert many.embeddings[0].values == one.embeddings[0].values


if mode == "chat":
    chat()
elif mode == "embed":
    embed(int(sys.argv[5]))
else:
    raise SystemExit(f"unknown mode {mode}")
print("ok")
