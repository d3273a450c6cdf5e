"""The official OpenAI Python SDK, with strict response validation, through Hugging Face routes to
a mock that answers as the Inference API and TGI do (huggingface_mock.py).

The suite's shared `gateway` fixture serves the OpenAI and Azure modules only, so these tests start
their own gateway with the huggingface module, found beside the gateway binary as cargo built it.
"""

import json
import os
from pathlib import Path

import openai
import pytest

from conftest import kong_config, sdk_client, start_gateway
from huggingface_mock import (
    CHAT_MODEL,
    EMBEDDINGS,
    EMBEDDINGS_MODEL,
    GENERATED_TEXT,
    LOADING_MODEL,
    STREAM_CONTENT,
    STREAM_USAGE,
    TOOL_ARGUMENTS,
    TOOL_USAGE,
    HuggingFaceUpstream,
    fixture,
)

HF_AUTH = "Bearer hf_configured"
MODULE = "libai_provider_huggingface.so"

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is 1 + 1?"},
]

ADD_TOOL = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Adds a and b.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
    },
}


def _module_path():
    binary = os.environ.get("AI_GATEWAY_BIN")
    if not binary:
        pytest.fail(
            "set AI_GATEWAY_BIN, or run this suite through `cargo test -p ai-gateway-tests sdk_conformance`",
            pytrace=False,
        )
    profile = Path(binary).parent
    for candidate in (profile / "deps" / MODULE, profile / MODULE):
        if candidate.is_file():
            return candidate
    pytest.fail(f"{MODULE} was not built next to {binary}: build it with cargo", pytrace=False)


def _route(name, route_type, model, upstream_url):
    return f"""      - name: {name}
        paths: [{json.dumps("/" + name)}]
        plugins:
          - name: ai-proxy
            config:
              route_type: {route_type}
              auth:
                header_name: Authorization
                header_value: {json.dumps(HF_AUTH)}
              model:
                provider: huggingface
                name: {json.dumps(model)}
                options:
                  upstream_url: {json.dumps(upstream_url)}
"""


def _config(upstream_url):
    routes = [
        _route("hf-chat", "llm/v1/chat", CHAT_MODEL, f"{upstream_url}/models/{CHAT_MODEL}"),
        _route("hf-loading", "llm/v1/chat", LOADING_MODEL, f"{upstream_url}/models/{LOADING_MODEL}"),
        _route("hf-completions", "llm/v1/completions", CHAT_MODEL, f"{upstream_url}/models/{CHAT_MODEL}"),
        _route(
            "hf-embeddings",
            "llm/v1/embeddings",
            EMBEDDINGS_MODEL,
            f"{upstream_url}/pipeline/feature-extraction/{EMBEDDINGS_MODEL}",
        ),
    ]
    return kong_config("hf", routes)


@pytest.fixture(scope="module")
def hf_upstream():
    server = HuggingFaceUpstream()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def hf_gateway(hf_upstream, tmp_path_factory):
    directory = tmp_path_factory.mktemp("huggingface")
    gateway = start_gateway(directory, {MODULE: _module_path()}, _config(hf_upstream.url))
    yield gateway
    gateway.stop()


def client(gateway, route):
    return sdk_client(f"{gateway.proxy}/{route}")


def assert_reached_hugging_face(sent):
    assert sent["headers"]["authorization"] == HF_AUTH
    assert sent["headers"]["x-use-cache"] == "false"
    assert sent["headers"]["x-wait-for-model"] == "false"


def test_huggingface_chat(hf_gateway, hf_upstream):
    raw = client(hf_gateway, "hf-chat").chat.completions.with_raw_response.create(
        model=CHAT_MODEL, messages=MESSAGES
    )
    completion = raw.parse()

    expected = json.loads(fixture("llm-v1-chat/responses/good.json"))
    assert raw.headers["x-kong-llm-model"] == f"huggingface/{CHAT_MODEL}"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == expected["choices"][0]["message"]["content"]
    # TGI's `eos_token`, which strict validation would refuse (and Kong's `complete` too).
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == CHAT_MODEL
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == (
        26,
        40,
        66,
    )
    sent = hf_upstream.last(f"/models/{CHAT_MODEL}/v1/chat/completions")
    assert_reached_hugging_face(sent)
    assert sent["body"]["messages"] == MESSAGES
    assert sent["body"]["model"] == CHAT_MODEL


def test_huggingface_streamed_chat_with_usage(hf_gateway, hf_upstream):
    stream = client(hf_gateway, "hf-chat").chat.completions.create(
        model=CHAT_MODEL,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "".join(STREAM_CONTENT)
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    final = chunks[-1]
    assert final.choices == []
    assert (final.usage.prompt_tokens, final.usage.completion_tokens, final.usage.total_tokens) == (
        STREAM_USAGE["prompt_tokens"],
        STREAM_USAGE["completion_tokens"],
        STREAM_USAGE["total_tokens"],
    )
    sent = hf_upstream.last(f"/models/{CHAT_MODEL}/v1/chat/completions")
    assert sent["body"]["stream"] is True
    assert sent["body"]["stream_options"] == {"include_usage": True}


def test_huggingface_streamed_tool_call(hf_gateway, hf_upstream):
    stream = client(hf_gateway, "hf-chat").chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": "What is 2 + 12?"}],
        tools=[ADD_TOOL],
        tool_choice="auto",
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    calls = [call for c in chunks if c.choices for call in (c.choices[0].delta.tool_calls or [])]
    assert [call.index for call in calls] == [0] * len(TOOL_ARGUMENTS)
    assert calls[0].function.name == "add"
    assert "".join(call.function.arguments or "" for call in calls) == "".join(TOOL_ARGUMENTS)
    assert json.loads("".join(TOOL_ARGUMENTS)) == {"a": 2, "b": 12}
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]
    assert chunks[-1].usage.total_tokens == TOOL_USAGE["total_tokens"]
    sent = hf_upstream.last(f"/models/{CHAT_MODEL}/v1/chat/completions")
    assert sent["body"]["tools"] == [ADD_TOOL]
    assert sent["body"]["tool_choice"] == "auto"


def test_huggingface_completions(hf_gateway, hf_upstream):
    completion = client(hf_gateway, "hf-completions").completions.create(
        model=CHAT_MODEL, prompt="What are you?", max_tokens=8
    )

    assert completion.object == "text_completion"
    assert completion.choices[0].text == GENERATED_TEXT
    assert completion.choices[0].finish_reason == "length"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == (
        3,
        8,
        11,
    )
    sent = hf_upstream.last(f"/models/{CHAT_MODEL}")
    assert_reached_hugging_face(sent)
    assert sent["body"] == {
        "inputs": "What are you?",
        "parameters": {"return_full_text": False, "max_new_tokens": 8, "details": True},
        "options": {"use_cache": False, "wait_for_model": False},
        "stream": False,
    }


def test_huggingface_embeddings(hf_gateway, hf_upstream):
    inputs = ["The food was delicious", "The waiter was friendly"]
    # The SDK asks for base64 unless told otherwise, and decodes only what comes back as base64.
    response = client(hf_gateway, "hf-embeddings").embeddings.create(model=EMBEDDINGS_MODEL, input=inputs)

    assert response.model == EMBEDDINGS_MODEL
    assert [e.index for e in response.data] == [0, 1]
    assert [e.embedding for e in response.data] == EMBEDDINGS
    assert (response.usage.prompt_tokens, response.usage.total_tokens) == (0, 0)
    sent = hf_upstream.last(f"/pipeline/feature-extraction/{EMBEDDINGS_MODEL}")
    assert_reached_hugging_face(sent)
    assert sent["body"] == {"inputs": inputs, "options": {"use_cache": False, "wait_for_model": False}}


def test_huggingface_model_loading_is_a_503(hf_gateway):
    with pytest.raises(openai.InternalServerError) as raised:
        client(hf_gateway, "hf-loading").chat.completions.create(model=LOADING_MODEL, messages=MESSAGES)

    assert raised.value.status_code == 503
    assert raised.value.body["type"] == "service_unavailable"
    assert raised.value.body["message"].startswith("Model mistralai/Mistral-7B-Instruct-v0.2 is currently loading")
