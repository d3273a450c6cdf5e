"""The official OpenAI Python SDK, with strict response validation, through an Azure OpenAI route."""

import json
from urllib.parse import parse_qs

from conftest import (
    AZURE_API_VERSION,
    AZURE_CHAT_DEPLOYMENT,
    AZURE_EMBEDDINGS_DEPLOYMENT,
    AZURE_KEY,
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


def client(gateway):
    return sdk_client(f"{gateway.proxy}/azure/v1")


def assert_reached_azure(sent):
    assert parse_qs(sent["query"]) == {"api-version": [AZURE_API_VERSION]}
    assert sent["headers"]["api-key"] == AZURE_KEY
    assert "authorization" not in sent["headers"]


def test_azure_chat_keeps_the_content_filter_results(gateway, upstream):
    raw = client(gateway).chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
    completion = raw.parse()

    assert raw.headers["x-kong-llm-model"] == "azure/gpt-4o"
    assert completion.choices[0].message.content == "1 + 1 = 2."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "gpt-4o-2024-08-06"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (25, 7)
    assert completion.model_extra["prompt_filter_results"][0]["prompt_index"] == 0
    assert completion.choices[0].model_extra["content_filter_results"]["hate"]["filtered"] is False
    sent = upstream.last(f"/openai/deployments/{AZURE_CHAT_DEPLOYMENT}/chat/completions")
    assert_reached_azure(sent)
    assert sent["body"]["messages"] == MESSAGES


def test_azure_streamed_chat_with_usage(gateway, upstream):
    stream = client(gateway).chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    # Azure's opening chunk has an empty `object`, which strict validation refuses; the gateway
    # names it and keeps the prompt's filter results.
    assert chunks[0].object == "chat.completion.chunk"
    assert chunks[0].choices == []
    assert chunks[0].model_extra["prompt_filter_results"][0]["prompt_index"] == 0
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
    sent = upstream.last(f"/openai/deployments/{AZURE_CHAT_DEPLOYMENT}/chat/completions")
    assert_reached_azure(sent)
    assert sent["body"]["stream"] is True
    assert sent["body"]["stream_options"] == {"include_usage": True}


def test_azure_embeddings(gateway, upstream):
    response = client(gateway).embeddings.create(
        model=EMBEDDINGS_MODEL, input="The food was delicious", encoding_format="float"
    )

    expected = json.loads(fixture("llm-v1-embeddings/responses/good.json"))
    assert response.model == EMBEDDINGS_MODEL
    assert response.data[0].embedding == expected["data"][0]["embedding"]
    assert response.usage.prompt_tokens == expected["usage"]["prompt_tokens"]
    sent = upstream.last(f"/openai/deployments/{AZURE_EMBEDDINGS_DEPLOYMENT}/embeddings")
    assert_reached_azure(sent)
    assert sent["body"]["input"] == "The food was delicious"
