"""The official OpenAI Python SDK, with strict response validation, through a mistral route in
front of a mock of Mistral's API speaking its own dialect (tool calls without `type`, usage on the
last stream chunk)."""

import json

from conftest import sdk_client
from llama2_mistral_mock import (  # noqa: F401 (fixtures)
    ANSWER,
    EMBED_TOKENS,
    EMBEDDINGS,
    MISTRAL_CALL_IDS,
    MISTRAL_KEY,
    MISTRAL_MODEL,
    MISTRAL_USAGE,
    STREAM_TEXT,
    TOOL_CALLS,
    selfhosted_gateway,
    selfhosted_upstream,
)
from test_llama2 import MESSAGES, TOOLS


def client(gateway):
    return sdk_client(f"{gateway.proxy}/mistral/v1")


def assert_reached_mistral(sent):
    assert sent["headers"]["authorization"] == MISTRAL_KEY


def test_mistral_chat(selfhosted_gateway, selfhosted_upstream):
    raw = client(selfhosted_gateway).chat.completions.with_raw_response.create(
        model=MISTRAL_MODEL, messages=MESSAGES, seed=7, max_completion_tokens=64
    )
    completion = raw.parse()

    assert raw.headers["x-kong-llm-model"] == f"mistral/{MISTRAL_MODEL}"
    assert completion.id == "cmpl-e5cc70bb28c444948073e77776eb30ef"
    assert completion.choices[0].message.content == ANSWER
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.model_dump(exclude_none=True) == MISTRAL_USAGE
    sent = selfhosted_upstream.last("/mistral/v1/chat/completions")
    assert_reached_mistral(sent)
    assert sent["body"] == {"messages": MESSAGES, "model": MISTRAL_MODEL, "random_seed": 7, "max_tokens": 64}


def test_mistral_streamed_chat_with_usage(selfhosted_gateway, selfhosted_upstream):
    stream = client(selfhosted_gateway).chat.completions.create(
        model=MISTRAL_MODEL,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "".join(STREAM_TEXT)
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    # Mistral put usage on its last chunk; the client gets it as OpenAI's usage chunk.
    assert all(c.usage is None for c in chunks[:-1])
    final = chunks[-1]
    assert final.choices == []
    assert final.usage.model_dump(exclude_none=True) == MISTRAL_USAGE
    sent = selfhosted_upstream.last("/mistral/v1/chat/completions")
    assert_reached_mistral(sent)
    assert sent["body"]["stream"] is True
    assert "stream_options" not in sent["body"]


def test_mistral_streamed_tool_call(selfhosted_gateway, selfhosted_upstream):
    stream = client(selfhosted_gateway).chat.completions.create(
        model=MISTRAL_MODEL,
        messages=[{"role": "user", "content": "What is 2 + 12? Then multiply that by 10."}],
        tools=TOOLS,
        tool_choice="required",
        stream=True,
    )
    calls = {}
    finish_reasons = []
    for chunk in stream:
        assert chunk.usage is None
        for choice in chunk.choices:
            if choice.finish_reason:
                finish_reasons.append(choice.finish_reason)
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(delta.index, {"id": None, "name": None, "arguments": ""})
                if delta.id:
                    assert delta.type == "function"
                    call["id"] = delta.id
                    call["name"] = delta.function.name
                call["arguments"] += delta.function.arguments or ""

    assert finish_reasons == ["tool_calls"]
    assert [calls[i]["id"] for i in sorted(calls)] == MISTRAL_CALL_IDS
    assert [(calls[i]["name"], json.loads(calls[i]["arguments"])) for i in sorted(calls)] == [
        (name, arguments) for name, arguments in TOOL_CALLS
    ]
    sent = selfhosted_upstream.last("/mistral/v1/chat/completions")["body"]
    assert sent["tool_choice"] == "any"


def test_mistral_tool_calls_without_type_pass_strict_validation(selfhosted_gateway, selfhosted_upstream):
    completion = client(selfhosted_gateway).chat.completions.create(
        model=MISTRAL_MODEL, messages=[{"role": "user", "content": "What is 2 + 12?"}], tools=TOOLS
    )

    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "tool_calls"
    assert message.content is None
    assert [(c.id, c.type, c.function.name) for c in message.tool_calls] == [
        (MISTRAL_CALL_IDS[0], "function", "add"),
        (MISTRAL_CALL_IDS[1], "function", "multiply"),
    ]


def test_mistral_embeddings(selfhosted_gateway, selfhosted_upstream):
    # Strict validation types each vector as numbers, so ask for floats (as the OpenAI and Azure
    # suites do): Mistral answers base64 when the SDK's default asks for it.
    response = client(selfhosted_gateway).embeddings.create(
        model="mistral-embed", input=["a", "b"], dimensions=3, encoding_format="float"
    )

    assert response.model == "mistral-embed"
    assert [d.embedding for d in response.data] == EMBEDDINGS
    assert response.usage.prompt_tokens == EMBED_TOKENS
    sent = selfhosted_upstream.last("/mistral/v1/embeddings")
    assert_reached_mistral(sent)
    assert sent["body"] == {
        "model": "mistral-embed",
        "input": ["a", "b"],
        "encoding_format": "float",
        "output_dimension": 3,
    }
