"""The official OpenAI Python SDK, with strict response validation, through Gemini routes to a
mock that speaks Google's Gemini API (gemini_mock.py)."""

import json

import openai
import pytest

from conftest import gateway_env, kong_config, module_path, sdk_client, start_gateway
from gemini_mock import (
    ARRAY_MODEL,
    GEMINI_KEY,
    MODEL_VERSION,
    RESPONSE_ID,
    STREAM_TEXT,
    STREAM_USAGE,
    TOOL_CALL,
    GeminiUpstream,
)

MODEL = "gemini-2.0-flash"
EMBEDDINGS_MODEL = "text-embedding-004"
MODULE = "libai_provider_gemini.so"

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is 1 + 1?"},
]

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"{name.capitalize()}s a and b.",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
                "additionalProperties": False,
            },
        },
    }
    for name in ("add", "multiply")
]


def _route(name, path, route_type, model, upstream_url, key=GEMINI_KEY):
    return f"""      - name: {name}
        paths: [{json.dumps(path)}]
        plugins:
          - name: ai-proxy
            config:
              route_type: {route_type}
              auth:
                header_name: x-goog-api-key
                header_value: {json.dumps(key)}
              model:
                provider: gemini
                name: {json.dumps(model)}
                options:
                  upstream_url: {json.dumps(upstream_url)}
"""


@pytest.fixture(scope="module")
def gemini_upstream():
    server = GeminiUpstream()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def gemini_gateway(gemini_upstream, tmp_path_factory):
    gateway_env()
    modules = {MODULE: module_path(MODULE)}
    url = gemini_upstream.url
    routes = [
        _route("gemini-chat", "/gemini/v1/chat/completions", "llm/v1/chat", MODEL, url),
        _route("gemini-array", "/gemini-array/v1/chat/completions", "llm/v1/chat", ARRAY_MODEL, url),
        _route("gemini-embeddings", "/gemini/v1/embeddings", "llm/v1/embeddings", EMBEDDINGS_MODEL, url),
        _route("gemini-bad-key", "/gemini-bad-key/v1/chat/completions", "llm/v1/chat", MODEL, url, "AIza-wrong"),
    ]
    gateway = start_gateway(tmp_path_factory.mktemp("gemini"), modules, kong_config("gemini", routes))
    yield gateway
    gateway.stop()


def client(gateway, prefix="/gemini"):
    return sdk_client(f"{gateway.proxy}{prefix}/v1")


def assert_reached_gemini(sent):
    assert sent["headers"]["x-goog-api-key"] == GEMINI_KEY
    assert "authorization" not in sent["headers"]


def test_gemini_chat(gemini_gateway, gemini_upstream):
    raw = client(gemini_gateway).chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    completion = raw.parse()

    assert raw.headers["x-kong-llm-model"] == f"gemini/{MODEL}"
    assert completion.id == RESPONSE_ID
    assert completion.model == MODEL_VERSION
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == "1 + 1 = 2."
    assert completion.choices[0].finish_reason == "stop"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == (
        9,
        7,
        16,
    )
    sent = gemini_upstream.last("generateContent")
    assert sent["path"] == f"/v1beta/models/{MODEL}:generateContent"
    assert_reached_gemini(sent)
    assert sent["body"] == {
        "contents": [{"role": "user", "parts": [{"text": "What is 1 + 1?"}]}],
        "systemInstruction": {"parts": [{"text": "You are a helpful assistant."}]},
    }


@pytest.mark.parametrize("prefix", ["/gemini", "/gemini-array"])
def test_gemini_streamed_chat_with_usage(gemini_gateway, gemini_upstream, prefix):
    stream = client(gemini_gateway, prefix).chat.completions.create(
        model=ARRAY_MODEL if prefix == "/gemini-array" else MODEL,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    assert all(c.object == "chat.completion.chunk" and c.id == RESPONSE_ID for c in chunks)
    assert all(c.model == MODEL_VERSION for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "".join(STREAM_TEXT)
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    final = chunks[-1]
    assert final.choices == []
    assert (final.usage.prompt_tokens, final.usage.completion_tokens, final.usage.total_tokens) == (
        STREAM_USAGE["promptTokenCount"],
        STREAM_USAGE["candidatesTokenCount"],
        STREAM_USAGE["totalTokenCount"],
    )
    sent = gemini_upstream.last("streamGenerateContent")
    assert sent["query"] == {"alt": ["sse"]}
    assert_reached_gemini(sent)


def test_gemini_streamed_tool_call_and_the_next_turn(gemini_gateway, gemini_upstream):
    stream = client(gemini_gateway).chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What is 2 + 12?"}],
        tools=TOOLS,
        tool_choice="auto",
        stream=True,
    )
    chunks = list(stream)

    deltas = [call for c in chunks if c.choices for call in (c.choices[0].delta.tool_calls or [])]
    assert [d.index for d in deltas] == [0, 0]
    assert deltas[0].id.startswith("call_") and deltas[0].type == "function"
    assert deltas[0].function.name == TOOL_CALL["name"]
    arguments = "".join(d.function.arguments or "" for d in deltas)
    assert json.loads(arguments) == TOOL_CALL["args"]
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]
    sent = gemini_upstream.last("streamGenerateContent")["body"]
    assert [d["name"] for d in sent["tools"][0]["functionDeclarations"]] == ["add", "multiply"]
    assert sent["tools"][0]["functionDeclarations"][0]["parameters"] == {
        "type": "OBJECT",
        "properties": {"a": {"type": "INTEGER"}, "b": {"type": "INTEGER"}},
        "required": ["a", "b"],
    }
    assert sent["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}

    completion = client(gemini_gateway).chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "user", "content": "What is 2 + 12?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": deltas[0].id, "type": "function", "function": {"name": "add", "arguments": arguments}}
                ],
            },
            {"role": "tool", "tool_call_id": deltas[0].id, "content": "14"},
        ],
        tools=TOOLS,
    )

    assert completion.choices[0].finish_reason == "tool_calls"
    call = completion.choices[0].message.tool_calls[0]
    assert (call.type, call.function.name, json.loads(call.function.arguments)) == (
        "function",
        TOOL_CALL["name"],
        TOOL_CALL["args"],
    )
    assert completion.choices[0].message.content is None
    contents = gemini_upstream.last("generateContent")["body"]["contents"]
    assert contents[1:] == [
        {"role": "model", "parts": [{"functionCall": {"name": "add", "args": {"a": 2, "b": 12}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "add", "response": {"output": "14"}}}]},
    ]


def test_gemini_embeddings(gemini_gateway, gemini_upstream):
    # The SDK asks for base64 by default and reads the numbers the gateway answers.
    many = client(gemini_gateway).embeddings.create(model=EMBEDDINGS_MODEL, input=["first", "second"])
    one = client(gemini_gateway).embeddings.create(
        model=EMBEDDINGS_MODEL, input="The food was delicious", dimensions=3, encoding_format="float"
    )

    assert [e.embedding for e in many.data] == [[0.5, 0.0], [0.5, 1.0]]
    assert [e.index for e in many.data] == [0, 1]
    assert many.model == EMBEDDINGS_MODEL
    assert one.data[0].embedding == [0.5, -0.25, 0.125]
    batch = gemini_upstream.last("batchEmbedContents")
    assert_reached_gemini(batch)
    assert batch["body"]["requests"][1] == {
        "model": f"models/{EMBEDDINGS_MODEL}",
        "content": {"parts": [{"text": "second"}]},
    }
    single = gemini_upstream.last("embedContent")
    assert single["body"]["outputDimensionality"] == 3


def test_gemini_error_reaches_the_sdk_with_googles_message(gemini_gateway):
    with pytest.raises(openai.BadRequestError) as raised:
        client(gemini_gateway, "/gemini-bad-key").chat.completions.create(model=MODEL, messages=MESSAGES)

    assert raised.value.status_code == 400
    assert raised.value.code == "INVALID_ARGUMENT"
    assert "API key not valid" in raised.value.message


def test_gemini_refuses_what_it_cannot_honour(gemini_gateway):
    with pytest.raises(openai.BadRequestError) as raised:
        client(gemini_gateway).chat.completions.create(model=MODEL, messages=MESSAGES, logprobs=True)

    assert "`logprobs` is not supported by provider gemini" in raised.value.message
