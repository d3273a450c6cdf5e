"""The official OpenAI Python SDK, with strict response validation, against the gateway."""

import json

import openai
import pytest

from conftest import (
    CHAT_MODEL,
    COMPLETIONS_MODEL,
    CONFIGURED_AUTH,
    EMBEDDINGS_MODEL,
    STREAM_CONTENT,
    STREAM_USAGE,
    fixture,
    sdk_client,
)

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is 1 + 1?"},
]


def client(gateway, prefix="/sdk"):
    return sdk_client(f"{gateway.proxy}{prefix}/v1")


def test_chat(gateway, upstream):
    raw = client(gateway).chat.completions.with_raw_response.create(model=CHAT_MODEL, messages=MESSAGES)
    completion = raw.parse()

    assert raw.headers["x-kong-llm-model"] == f"openai/{CHAT_MODEL}"
    assert completion.choices[0].message.content == "The sum of 1 + 1 is 2."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "gpt-3.5-turbo-0613"
    assert (
        completion.usage.prompt_tokens,
        completion.usage.completion_tokens,
        completion.usage.total_tokens,
    ) == (25, 12, 37)
    sent = upstream.last("/v1/chat/completions")
    assert sent["headers"]["authorization"] == CONFIGURED_AUTH
    assert sent["body"]["messages"] == MESSAGES


def test_streamed_chat_with_usage(gateway, upstream):
    stream = client(gateway).chat.completions.create(
        model=CHAT_MODEL,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "".join(STREAM_CONTENT)
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "stop"
    ]
    final = chunks[-1]
    assert final.choices == []
    usage = final.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        STREAM_USAGE["prompt_tokens"],
        STREAM_USAGE["completion_tokens"],
        STREAM_USAGE["total_tokens"],
    )
    assert all(c.usage is None for c in chunks[:-1])
    sent = upstream.last("/v1/chat/completions")
    assert sent["body"]["stream"] is True
    assert sent["body"]["stream_options"] == {"include_usage": True}


def test_completions(gateway, upstream):
    completion = client(gateway).completions.create(model=COMPLETIONS_MODEL, prompt="What are you?")

    assert (
        completion.choices[0].text
        == json.loads(fixture("llm-v1-completions/responses/good.json"))["choices"][0]["text"]
    )
    assert completion.choices[0].finish_reason == "length"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (4, 16)
    assert upstream.last("/v1/completions")["body"]["prompt"] == "What are you?"


def test_embeddings(gateway, upstream):
    response = client(gateway).embeddings.create(
        model=EMBEDDINGS_MODEL, input="The food was delicious", encoding_format="float"
    )

    expected = json.loads(fixture("llm-v1-embeddings/responses/good.json"))
    assert response.model == EMBEDDINGS_MODEL
    assert len(response.data) == 1
    assert response.data[0].embedding == expected["data"][0]["embedding"]
    assert response.usage.prompt_tokens == 4
    sent = upstream.last("/v1/embeddings")["body"]
    assert sent["input"] == "The food was delicious"
    assert sent["encoding_format"] == "float"


def test_an_upstream_error_reaches_the_sdk_with_its_status_and_message(gateway):
    with pytest.raises(openai.AuthenticationError) as raised:
        client(gateway, prefix="/bad-key").chat.completions.create(model=CHAT_MODEL, messages=MESSAGES)

    assert raised.value.status_code == 401
    assert "Incorrect API key provided" in raised.value.message
    assert raised.value.code == "invalid_api_key"


def test_a_gateway_error_reaches_the_sdk_with_its_status_and_message(gateway):
    with pytest.raises(openai.BadRequestError) as raised:
        client(gateway).chat.completions.create(model="gpt-4o", messages=MESSAGES)

    assert raised.value.status_code == 400
    assert CHAT_MODEL in raised.value.message
    assert raised.value.type == "invalid_request_error"
