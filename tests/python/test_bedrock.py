"""The official OpenAI Python SDK, with strict response validation, through Amazon Bedrock routes
to a mock Bedrock Runtime that checks every SigV4 signature (bedrock_mock.py)."""

import json

import openai
import pytest

from bedrock_mock import (
    ACCESS_KEY_ID,
    ANSWER,
    EMBEDDING,
    REGION,
    SECRET_ACCESS_KEY,
    STREAM_TEXT,
    THROTTLED,
    TOOL_ARGUMENT_FRAGMENTS,
    USAGE,
    BedrockMock,
)
from conftest import Gateway, gateway_env, kong_config, sdk_client

NOVA = "us.amazon.nova-micro-v1:0"
NOVA_PATH = "/model/us.amazon.nova-micro-v1%3A0"
TITAN = "amazon.titan-embed-text-v2:0"

MESSAGES = [
    {"role": "system", "content": "You are a mathematician."},
    {"role": "user", "content": "What is pi?"},
]

TOOLS = [
    {
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
]

OPENAI_USAGE = {
    "prompt_tokens": USAGE["inputTokens"],
    "completion_tokens": USAGE["outputTokens"],
    "total_tokens": USAGE["totalTokens"],
}


def _route(name, path, route_type, model, upstream_url):
    return f"""      - name: {name}
        paths: [{json.dumps(path)}]
        plugins:
          - name: ai-proxy
            config:
              route_type: {route_type}
              auth:
                aws_access_key_id: {json.dumps(ACCESS_KEY_ID)}
                aws_secret_access_key: {json.dumps(SECRET_ACCESS_KEY)}
              model:
                provider: bedrock
                name: {json.dumps(model)}
                options:
                  upstream_url: {json.dumps(upstream_url)}
                  bedrock:
                    aws_region: {REGION}
"""


@pytest.fixture(scope="module")
def bedrock():
    server = BedrockMock()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def bedrock_gateway(bedrock, tmp_path_factory):
    binary, providers = gateway_env("set AI_GATEWAY_BIN and AI_GATEWAY_PROVIDERS (the providers must include bedrock)")
    routes = [
        _route("bedrock-chat", "/bedrock/v1/chat/completions", "llm/v1/chat", NOVA, bedrock.url),
        _route("bedrock-embeddings", "/bedrock/v1/embeddings", "llm/v1/embeddings", TITAN, bedrock.url),
    ]
    config = kong_config("bedrock", routes)
    path = tmp_path_factory.mktemp("bedrock") / "kong.yaml"
    path.write_text(config)
    gateway = Gateway(binary, providers, path)
    yield gateway
    gateway.stop()


def client(gateway):
    return sdk_client(f"{gateway.proxy}/bedrock/v1")


def assert_signed(sent):
    assert sent["signature_ok"], sent["headers"].get("authorization")
    assert f"/{REGION}/bedrock/aws4_request" in sent["headers"]["authorization"]
    # The client's own key is for the gateway; Bedrock gets the signature only.
    assert "sk-sdk-client" not in json.dumps(sent["headers"])


def test_bedrock_chat(bedrock_gateway, bedrock):
    raw = client(bedrock_gateway).chat.completions.with_raw_response.create(model=NOVA, messages=MESSAGES)
    completion = raw.parse()

    assert raw.headers["x-kong-llm-model"] == f"bedrock/{NOVA}"
    assert completion.object == "chat.completion"
    assert completion.model == NOVA
    assert completion.choices[0].message.content == ANSWER
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.model_dump(exclude_none=True) == OPENAI_USAGE
    sent = bedrock.last(f"{NOVA_PATH}/converse")
    assert_signed(sent)
    assert sent["body"] == {
        "system": [{"text": "You are a mathematician."}],
        "messages": [{"role": "user", "content": [{"text": "What is pi?"}]}],
    }


def test_bedrock_streamed_chat_with_usage(bedrock_gateway, bedrock):
    stream = client(bedrock_gateway).chat.completions.create(
        model=NOVA,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        max_tokens=64,
    )
    chunks = list(stream)

    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "".join(STREAM_TEXT)
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    final = chunks[-1]
    assert final.choices == []
    assert final.usage.model_dump(exclude_none=True) == OPENAI_USAGE
    sent = bedrock.last(f"{NOVA_PATH}/converse-stream")
    assert_signed(sent)
    assert sent["body"]["inferenceConfig"] == {"maxTokens": 64}


def test_bedrock_streamed_tool_call(bedrock_gateway, bedrock):
    stream = client(bedrock_gateway).chat.completions.create(
        model=NOVA,
        messages=[{"role": "user", "content": "What is 2 + 12?"}],
        tools=TOOLS,
        tool_choice="required",
        stream=True,
    )
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Adding."
    calls = [call for c in chunks if c.choices for call in (c.choices[0].delta.tool_calls or [])]
    assert calls[0].index == 0
    assert calls[0].id == "tooluse_sdk1"
    assert calls[0].type == "function"
    assert calls[0].function.name == "add"
    assert all(call.index == 0 for call in calls), "Bedrock's block 1 is OpenAI's tool call 0"
    arguments = "".join(call.function.arguments or "" for call in calls)
    assert arguments == "".join(TOOL_ARGUMENT_FRAGMENTS)
    assert json.loads(arguments) == {"a": 2, "b": 12}
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
        "tool_calls"
    ]
    assert all(c.usage is None for c in chunks), "no usage chunk unless asked"
    sent = bedrock.last(f"{NOVA_PATH}/converse-stream")
    assert_signed(sent)
    assert sent["body"]["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "add",
                    "description": "Adds a and b.",
                    "inputSchema": {"json": TOOLS[0]["function"]["parameters"]},
                }
            }
        ],
        "toolChoice": {"any": {}},
    }


def test_bedrock_tool_call_round_trip_with_a_guardrail(bedrock_gateway, bedrock):
    guardrail = {"guardrailIdentifier": "gr-abc123", "guardrailVersion": "1"}
    completion = client(bedrock_gateway).chat.completions.create(
        model=NOVA,
        messages=[
            {"role": "user", "content": "What is 2 + 12?"},
            {
                "role": "assistant",
                "content": "Adding.",
                "tool_calls": [
                    {"id": "tooluse_prev", "type": "function", "function": {"name": "add", "arguments": '{"a":1,"b":1}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "tooluse_prev", "content": '{"sum": 2}'},
            {"role": "user", "content": "Now 2 + 12."},
        ],
        tools=TOOLS,
        extra_body={"guardrailConfig": guardrail},
    )

    call = completion.choices[0].message.tool_calls[0]
    assert (call.id, call.type, call.function.name) == ("tooluse_sdk0", "function", "add")
    assert json.loads(call.function.arguments) == {"a": 2, "b": 12}
    assert completion.choices[0].finish_reason == "tool_calls"
    sent = bedrock.last(f"{NOVA_PATH}/converse")
    assert_signed(sent)
    assert sent["body"]["guardrailConfig"] == guardrail
    assert sent["body"]["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"text": "Adding."},
                {"toolUse": {"toolUseId": "tooluse_prev", "name": "add", "input": {"a": 1, "b": 1}}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": "tooluse_prev", "content": [{"json": {"sum": 2}}]}},
                {"text": "Now 2 + 12."},
            ],
        },
    ]


def test_bedrock_embeddings_with_titan(bedrock_gateway, bedrock):
    response = client(bedrock_gateway).embeddings.create(model=TITAN, input="The food was delicious", dimensions=256)

    assert response.model == TITAN
    assert [d.embedding for d in response.data] == [EMBEDDING]
    assert (response.usage.prompt_tokens, response.usage.total_tokens) == (6, 6)
    sent = bedrock.last("/model/amazon.titan-embed-text-v2%3A0/invoke")
    assert_signed(sent)
    assert sent["body"] == {"inputText": "The food was delicious", "dimensions": 256}


def test_bedrock_throttling_is_a_rate_limit_error(bedrock_gateway):
    with pytest.raises(openai.RateLimitError) as raised:
        client(bedrock_gateway).chat.completions.create(
            model=NOVA, messages=[{"role": "user", "content": THROTTLED}]
        )
    assert raised.value.status_code == 429
    assert raised.value.code == "ThrottlingException"
    assert "Too many requests, please wait before trying again." in raised.value.message


def test_bedrock_refuses_what_it_cannot_honour(bedrock_gateway):
    with pytest.raises(openai.BadRequestError) as raised:
        client(bedrock_gateway).chat.completions.create(model=NOVA, messages=MESSAGES, seed=7)
    assert "`seed` is not supported by provider bedrock" in raised.value.message
