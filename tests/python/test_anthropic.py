"""The official OpenAI Python SDK, with strict response validation, through Anthropic routes to a
mock that speaks Anthropic's API (anthropic_mock.py)."""

import json

import openai
import pytest

from anthropic_mock import (
    ANSWERING_MODEL,
    BASIC_STREAM_TEXT,
    BASIC_STREAM_USAGE,
    MESSAGE_ID,
    TOOL_CALLS,
    AnthropicUpstream,
)
from conftest import gateway_env, kong_config, module_path, sdk_client, start_gateway

ANTHROPIC_KEY = "sk-ant-configured"
ANTHROPIC_VERSION = "2023-06-01"
MODEL = "claude-sonnet-4-5"
MODULE = "libai_provider_anthropic.so"

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is 1 + 1?"},
]

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
                "required": ["a", "b"],
            },
        },
    }
    for name in ("add", "multiply")
]


def _route(name, path, route_type, upstream_url):
    return f"""      - name: {name}
        paths: [{json.dumps(path)}]
        plugins:
          - name: ai-proxy
            config:
              route_type: {route_type}
              auth:
                header_name: x-api-key
                header_value: {json.dumps(ANTHROPIC_KEY)}
              model:
                provider: anthropic
                name: {json.dumps(MODEL)}
                options:
                  anthropic_version: {json.dumps(ANTHROPIC_VERSION)}
                  upstream_url: {json.dumps(upstream_url)}
"""


@pytest.fixture(scope="module")
def anthropic_upstream():
    server = AnthropicUpstream()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def anthropic_gateway(anthropic_upstream, tmp_path_factory):
    gateway_env()
    directory = tmp_path_factory.mktemp("anthropic")
    url = anthropic_upstream.url
    routes = [
        _route("chat", "/anthropic/v1/chat/completions", "llm/v1/chat", url),
        _route("completions", "/anthropic/v1/completions", "llm/v1/completions", url),
        _route("bad-key", "/anthropic-bad-key/v1/chat/completions", "llm/v1/chat", url + "/unauthorized/v1/messages"),
    ]
    gateway = start_gateway(directory, {MODULE: module_path(MODULE)}, kong_config("anthropic", routes))
    yield gateway
    gateway.stop()


def client(gateway, prefix="/anthropic"):
    return sdk_client(f"{gateway.proxy}{prefix}/v1")


def assert_reached_anthropic(sent):
    assert sent["headers"]["x-api-key"] == ANTHROPIC_KEY
    assert sent["headers"]["anthropic-version"] == ANTHROPIC_VERSION
    assert "authorization" not in sent["headers"]


def test_anthropic_chat(anthropic_gateway, anthropic_upstream):
    raw = client(anthropic_gateway).chat.completions.with_raw_response.create(model=MODEL, messages=MESSAGES)
    completion = raw.parse()

    assert raw.headers["x-kong-llm-model"] == f"anthropic/{MODEL}"
    assert completion.id == MESSAGE_ID
    assert completion.model == ANSWERING_MODEL
    assert completion.choices[0].message.content == "1 + 1 = 2."
    assert completion.choices[0].finish_reason == "stop"
    usage = completion.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (1120, 8, 1128)
    assert usage.prompt_tokens_details.cached_tokens == 1000
    sent = anthropic_upstream.last("/v1/messages")
    assert_reached_anthropic(sent)
    assert sent["body"] == {
        "model": MODEL,
        "messages": [{"role": "user", "content": "What is 1 + 1?"}],
        "system": "You are a helpful assistant.",
        "max_tokens": 4096,
        "stream": False,
    }


def test_anthropic_streamed_chat_with_usage(anthropic_gateway, anthropic_upstream):
    stream = client(anthropic_gateway).chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == BASIC_STREAM_TEXT
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["stop"]
    final = chunks[-1]
    assert final.choices == []
    prompt, completion = BASIC_STREAM_USAGE
    assert (final.usage.prompt_tokens, final.usage.completion_tokens, final.usage.total_tokens) == (
        prompt,
        completion,
        prompt + completion,
    )
    assert all(c.usage is None for c in chunks[:-1])
    sent = anthropic_upstream.last("/v1/messages")
    assert sent["body"]["stream"] is True
    assert "stream_options" not in sent["body"]


def test_anthropic_streamed_tool_calls(anthropic_gateway, anthropic_upstream):
    stream = client(anthropic_gateway).chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What are 2 + 12 and 3 * 4?"}],
        tools=TOOLS,
        stream=True,
    )
    calls = {}
    finish = []
    for chunk in stream:
        choice = chunk.choices[0]
        for call in choice.delta.tool_calls or []:
            entry = calls.setdefault(call.index, {"id": None, "name": None, "arguments": ""})
            if call.id:
                entry["id"] = call.id
                entry["name"] = call.function.name
                assert call.type == "function"
            entry["arguments"] += call.function.arguments or ""
        if choice.finish_reason:
            finish.append(choice.finish_reason)

    assert finish == ["tool_calls"]
    assert sorted(calls) == [0, 1]
    assert [(calls[i]["id"], calls[i]["name"], json.loads(calls[i]["arguments"])) for i in (0, 1)] == TOOL_CALLS
    sent = anthropic_upstream.last("/v1/messages")["body"]
    assert [t["name"] for t in sent["tools"]] == ["add", "multiply"]
    assert sent["tools"][0]["input_schema"] == TOOLS[0]["function"]["parameters"]
    assert sent["tool_choice"] == {"type": "auto"}


def test_anthropic_tool_calls_and_their_results(anthropic_gateway, anthropic_upstream):
    sdk = client(anthropic_gateway)
    question = [{"role": "user", "content": "What are 2 + 12 and 3 * 4?"}]
    completion = sdk.chat.completions.create(model=MODEL, messages=question, tools=TOOLS, tool_choice="required")

    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "tool_calls"
    assert message.content == "Let me compute both."
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls] == TOOL_CALLS
    assert anthropic_upstream.last("/v1/messages")["body"]["tool_choice"] == {"type": "any"}

    results = [{"role": "tool", "tool_call_id": c.id, "content": "14" if i == 0 else "12"} for i, c in enumerate(message.tool_calls)]
    sdk.chat.completions.create(
        model=MODEL,
        messages=question + [message.model_dump(exclude_none=True)] + results,
        tools=TOOLS,
    )

    sent = anthropic_upstream.last("/v1/messages")["body"]
    assert sent["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": "Let me compute both."}]
        + [{"type": "tool_use", "id": id, "name": name, "input": args} for id, name, args in TOOL_CALLS],
    }
    assert sent["messages"][2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01Add", "content": "14"},
            {"type": "tool_result", "tool_use_id": "toolu_02Mul", "content": "12"},
        ],
    }


def test_anthropic_completions(anthropic_gateway, anthropic_upstream):
    completion = client(anthropic_gateway).completions.create(model=MODEL, prompt="What are you?")

    assert completion.choices[0].text == " Hello! My name is Claude."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "claude-2.1"
    sent = anthropic_upstream.last("/v1/complete")
    assert_reached_anthropic(sent)
    assert sent["body"]["prompt"] == "\n\nHuman: What are you?\n\nAssistant:"


def test_an_anthropic_error_reaches_the_sdk_with_its_status_and_message(anthropic_gateway):
    with pytest.raises(openai.AuthenticationError) as raised:
        client(anthropic_gateway, prefix="/anthropic-bad-key").chat.completions.create(model=MODEL, messages=MESSAGES)

    assert raised.value.status_code == 401
    assert "Invalid API Key" in raised.value.message
    assert raised.value.code == "authentication_error"
    assert raised.value.type == "authentication_error"


def test_a_parameter_anthropic_cannot_honour_is_a_400(anthropic_gateway):
    with pytest.raises(openai.BadRequestError) as raised:
        client(anthropic_gateway).chat.completions.create(model=MODEL, messages=MESSAGES, seed=7)

    assert raised.value.status_code == 400
    assert "`seed` is not supported by provider anthropic" in raised.value.message
