"""The official OpenAI Python SDK, with strict response validation, through Cohere routes to a mock
that speaks Cohere's API (cohere_mock.py): chat, streamed chat with usage, tool calls in JSON and
streamed, a v1 stream, embeddings and errors."""

import json

import openai
import pytest

from cohere_mock import (
    ANSWER,
    EMBED_TOKENS,
    EMBEDDING,
    GENERATION_ID,
    RESPONSE_ID,
    STREAM_ID,
    STREAM_TEXT,
    TOOL_CALLS,
    TOOL_PLAN,
    CohereUpstream,
)
from conftest import gateway_env, kong_config, module_path, sdk_client, start_gateway

COHERE_AUTH = "Bearer co-configured-key"
MODEL = "command-a-03-2025"
V1_MODEL = "command-r-08-2024"
EMBED_MODEL = "embed-v4.0"
MODULE = "libai_provider_cohere.so"

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is 1 + 1?"},
]

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"{name.capitalize()}s two numbers",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                "required": ["a", "b"],
            },
        },
    }
    for name in ("add", "multiply")
]


def _route(name, path, route_type, model, upstream_url, extra_options=""):
    return f"""      - name: {name}
        paths: [{json.dumps(path)}]
        plugins:
          - name: ai-proxy
            config:
              route_type: {route_type}
              auth:
                header_name: Authorization
                header_value: {json.dumps(COHERE_AUTH)}
              model:
                provider: cohere
                name: {json.dumps(model)}
                options:
                  upstream_url: {json.dumps(upstream_url)}
{extra_options}"""


@pytest.fixture(scope="module")
def cohere_upstream():
    server = CohereUpstream()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def cohere_gateway(cohere_upstream, tmp_path_factory):
    gateway_env()
    directory = tmp_path_factory.mktemp("cohere")
    modules = {MODULE: module_path(MODULE)}
    url = cohere_upstream.url
    v1 = "                  cohere:\n                    api_version: v1\n"
    routes = [
        _route("chat", "/cohere/v1/chat/completions", "llm/v1/chat", MODEL, url),
        _route("chat-v1", "/cohere-v1/v1/chat/completions", "llm/v1/chat", V1_MODEL, url, v1),
        _route("embeddings", "/cohere/v1/embeddings", "llm/v1/embeddings", EMBED_MODEL, url),
        _route("bad-key", "/cohere-bad-key/v1/chat/completions", "llm/v1/chat", MODEL, url + "/unauthorized/v2/chat"),
    ]
    gateway = start_gateway(directory, modules, kong_config("cohere", routes))
    yield gateway
    gateway.stop()


def client(gateway, prefix="/cohere"):
    return sdk_client(f"{gateway.proxy}{prefix}/v1")


def assert_reached_cohere(sent):
    assert sent["headers"]["authorization"] == COHERE_AUTH
    assert sent["headers"]["content-type"] == "application/json"


def test_cohere_chat(cohere_gateway, cohere_upstream):
    raw = client(cohere_gateway).chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    completion = raw.parse()

    assert raw.headers["x-kong-llm-model"] == f"cohere/{MODEL}"
    assert completion.id == RESPONSE_ID
    assert completion.model == MODEL
    assert completion.choices[0].message.content == ANSWER
    assert completion.choices[0].finish_reason == "stop"
    usage = completion.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (78, 7, 85)
    assert usage.prompt_tokens_details.cached_tokens == 64
    sent = cohere_upstream.last("/v2/chat")
    assert_reached_cohere(sent)
    assert sent["body"] == {"model": MODEL, "messages": MESSAGES, "stream": False}


def test_cohere_streamed_chat_with_usage(cohere_gateway, cohere_upstream):
    stream = client(cohere_gateway).chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        max_tokens=50,
        temperature=0.2,
        stop=["\n\n"],
    )
    chunks = list(stream)

    assert all(c.id == STREAM_ID and c.model == MODEL for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(STREAM_TEXT)
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["stop"]
    final = chunks[-1]
    assert final.choices == []
    assert (final.usage.prompt_tokens, final.usage.completion_tokens, final.usage.total_tokens) == (78, 7, 85)
    assert final.usage.prompt_tokens_details.cached_tokens == 64
    assert all(c.usage is None for c in chunks[:-1])
    sent = cohere_upstream.last("/v2/chat")["body"]
    assert sent["stream"] is True
    assert (sent["max_tokens"], sent["temperature"], sent["stop_sequences"]) == (50, 0.2, ["\n\n"])
    assert "stream_options" not in sent


def test_cohere_tool_calls_and_their_results(cohere_gateway, cohere_upstream):
    question = [{"role": "user", "content": "What are 2 + 12 and 3 * 4?"}]
    completion = client(cohere_gateway).chat.completions.create(
        model=MODEL, messages=question, tools=TOOLS, tool_choice="required"
    )

    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "tool_calls"
    assert message.content == TOOL_PLAN
    assert [(c.id, c.type, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls] == [
        (call_id, "function", name, arguments) for call_id, name, arguments in TOOL_CALLS
    ]
    sent = cohere_upstream.last("/v2/chat")["body"]
    assert sent["tool_choice"] == "REQUIRED"
    assert sent["tools"] == TOOLS

    # The next turn sends the calls and their results back; Cohere gets them in its v2 form.
    follow_up = question + [
        message.model_dump(exclude_none=True, exclude={"refusal"}),
        {"role": "tool", "tool_call_id": "add_9x2k", "content": "14"},
        {"role": "tool", "tool_call_id": "multiply_4p7q", "content": "12"},
    ]
    client(cohere_gateway).chat.completions.create(model=MODEL, messages=follow_up, tools=TOOLS)
    sent = cohere_upstream.last("/v2/chat")["body"]
    assert sent["messages"][1:] == [
        {
            "role": "assistant",
            "tool_plan": TOOL_PLAN,
            "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
                for call_id, name, arguments in TOOL_CALLS
            ],
        },
        {"role": "tool", "tool_call_id": "add_9x2k", "content": "14"},
        {"role": "tool", "tool_call_id": "multiply_4p7q", "content": "12"},
    ]
    assert "tool_choice" not in sent


def test_cohere_streamed_tool_calls(cohere_gateway, cohere_upstream):
    stream = client(cohere_gateway).chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What are 2 + 12 and 3 * 4?"}],
        tools=TOOLS,
        stream=True,
        stream_options={"include_usage": True},
    )
    calls = {}
    finish = []
    text = ""
    for chunk in stream:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        text += choice.delta.content or ""
        for call in choice.delta.tool_calls or []:
            entry = calls.setdefault(call.index, {"id": None, "name": None, "arguments": ""})
            if call.id:
                entry["id"] = call.id
                entry["name"] = call.function.name
                assert call.type == "function"
            entry["arguments"] += call.function.arguments or ""
        if choice.finish_reason:
            finish.append(choice.finish_reason)

    assert text == TOOL_PLAN
    assert finish == ["tool_calls"]
    assert sorted(calls) == [0, 1]
    assert [(calls[i]["id"], calls[i]["name"], json.loads(calls[i]["arguments"])) for i in (0, 1)] == TOOL_CALLS
    sent = cohere_upstream.last("/v2/chat")["body"]
    assert sent["stream"] is True
    assert [t["function"]["name"] for t in sent["tools"]] == ["add", "multiply"]


def test_cohere_v1_stream(cohere_gateway, cohere_upstream):
    stream = client(cohere_gateway, "/cohere-v1").chat.completions.create(
        model=V1_MODEL,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    assert all(c.id == GENERATION_ID for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(STREAM_TEXT)
    assert chunks[-1].usage.prompt_tokens == 12
    sent = cohere_upstream.last("/v1/chat")
    assert_reached_cohere(sent)
    assert sent["body"] == {
        "model": V1_MODEL,
        "preamble": "You are a helpful assistant.",
        "message": "What is 1 + 1?",
        "stream": True,
    }


def test_cohere_embeddings(cohere_gateway, cohere_upstream):
    floats = client(cohere_gateway).embeddings.create(
        model=EMBED_MODEL, input=["The food was delicious", "Hi"], encoding_format="float"
    )
    assert floats.model == EMBED_MODEL
    assert [d.embedding for d in floats.data] == [EMBEDDING, EMBEDDING]
    assert (floats.usage.prompt_tokens, floats.usage.total_tokens) == (EMBED_TOKENS, EMBED_TOKENS)
    sent = cohere_upstream.last("/v2/embed")
    assert_reached_cohere(sent)
    assert sent["body"] == {
        "model": EMBED_MODEL,
        "texts": ["The food was delicious", "Hi"],
        "input_type": "search_document",
        "embedding_types": ["float"],
    }

    # Without encoding_format the SDK asks for base64 and decodes it itself. Its strict mode
    # checks the body before decoding, and refuses any base64 body (OpenAI's own included), so
    # this one call is checked without it.
    lenient = openai.OpenAI(base_url=f"{cohere_gateway.proxy}/cohere/v1", api_key="sk-sdk-client", max_retries=0)
    default = lenient.embeddings.create(model=EMBED_MODEL, input="Hi")
    assert default.data[0].embedding == EMBEDDING
    assert cohere_upstream.last("/v2/embed")["body"]["embedding_types"] == ["float", "base64"]


def test_cohere_errors_reach_the_sdk(cohere_gateway):
    with pytest.raises(openai.AuthenticationError) as raised:
        client(cohere_gateway, "/cohere-bad-key").chat.completions.create(model=MODEL, messages=MESSAGES)
    assert raised.value.status_code == 401
    assert raised.value.body["message"] == "invalid api token"

    with pytest.raises(openai.BadRequestError) as raised:
        client(cohere_gateway).chat.completions.create(model=MODEL, messages=MESSAGES, logprobs=True)
    assert raised.value.body["message"] == "`logprobs` is not supported by provider cohere"
