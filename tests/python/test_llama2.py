"""The official OpenAI Python SDK, with strict response validation, through a llama2 route in
Ollama format (Kong's seed route shape), in front of a mock Ollama."""

import json

import openai

from conftest import sdk_client
from llama2_mistral_mock import (  # noqa: F401 (fixtures)
    ANSWER,
    CREATED,
    EMBED_TOKENS,
    EMBEDDINGS,
    OLLAMA_COUNTS,
    OLLAMA_MODEL,
    STREAM_TEXT,
    TOOL_CALLS,
    selfhosted_gateway,
    selfhosted_upstream,
)

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is 1 + 1?"},
]

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"{name} two integers",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"],
            },
        },
    }
    for name in ("add", "multiply")
]


def client(gateway):
    return sdk_client(f"{gateway.proxy}/llama2/v1", api_key="unused")


def test_llama2_ollama_chat(selfhosted_gateway, selfhosted_upstream):
    raw = client(selfhosted_gateway).chat.completions.with_raw_response.create(model=OLLAMA_MODEL, messages=MESSAGES)
    completion = raw.parse()

    assert raw.headers["x-kong-llm-model"] == f"llama2/{OLLAMA_MODEL}"
    assert completion.object == "chat.completion"
    assert completion.created == CREATED
    assert completion.model == OLLAMA_MODEL
    assert completion.choices[0].message.content == ANSWER
    assert completion.choices[0].finish_reason == "stop"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == (
        OLLAMA_COUNTS[0],
        OLLAMA_COUNTS[1],
        sum(OLLAMA_COUNTS),
    )
    sent = selfhosted_upstream.last("/ollama/api/chat")["body"]
    assert sent == {"model": OLLAMA_MODEL, "messages": MESSAGES, "stream": False}


def test_llama2_ollama_streamed_chat_with_usage(selfhosted_gateway, selfhosted_upstream):
    stream = client(selfhosted_gateway).chat.completions.create(
        model=OLLAMA_MODEL,
        messages=MESSAGES,
        max_tokens=50,
        temperature=0.2,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    assert all(c.object == "chat.completion.chunk" and c.model == OLLAMA_MODEL for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "".join(STREAM_TEXT)
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    final = chunks[-1]
    assert final.choices == []
    assert (final.usage.prompt_tokens, final.usage.completion_tokens, final.usage.total_tokens) == (
        OLLAMA_COUNTS[0],
        OLLAMA_COUNTS[1],
        sum(OLLAMA_COUNTS),
    )
    sent = selfhosted_upstream.last("/ollama/api/chat")["body"]
    assert sent["stream"] is True
    assert sent["options"] == {"num_predict": 50, "temperature": 0.2}


def test_llama2_ollama_streamed_tool_call(selfhosted_gateway, selfhosted_upstream):
    stream = client(selfhosted_gateway).chat.completions.create(
        model=OLLAMA_MODEL,
        messages=[{"role": "user", "content": "What is 2 + 12? Then multiply that by 10."}],
        tools=TOOLS,
        stream=True,
    )
    calls = {}
    finish_reasons = []
    for chunk in stream:
        for choice in chunk.choices:
            if choice.finish_reason:
                finish_reasons.append(choice.finish_reason)
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(delta.index, {"id": None, "name": None, "arguments": ""})
                if delta.id:
                    call["id"] = delta.id
                    call["name"] = delta.function.name
                call["arguments"] += delta.function.arguments or ""

    assert finish_reasons == ["tool_calls"]
    assert sorted(calls) == [0, 1]
    assert [calls[i]["id"] for i in (0, 1)] == ["call_0", "call_1"]
    assert [(calls[i]["name"], json.loads(calls[i]["arguments"])) for i in (0, 1)] == [
        (name, arguments) for name, arguments in TOOL_CALLS
    ]
    sent = selfhosted_upstream.last("/ollama/api/chat")["body"]
    assert [t["function"]["name"] for t in sent["tools"]] == ["add", "multiply"]


def test_llama2_ollama_tool_results_go_back_as_ollama_messages(selfhosted_gateway, selfhosted_upstream):
    sdk = client(selfhosted_gateway)
    first = sdk.chat.completions.create(
        model=OLLAMA_MODEL, messages=[{"role": "user", "content": "What is 2 + 12?"}], tools=TOOLS
    )
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert first.choices[0].message.content is None
    assert (call.id, call.type, call.function.name) == ("call_0", "function", "add")

    second = sdk.chat.completions.create(
        model=OLLAMA_MODEL,
        messages=[
            {"role": "user", "content": "What is 2 + 12?"},
            first.choices[0].message,
            {"role": "tool", "tool_call_id": call.id, "content": "14"},
        ],
        tools=TOOLS,
    )

    assert second.choices[0].message.content == ANSWER
    sent = selfhosted_upstream.last("/ollama/api/chat")["body"]
    assert sent["messages"][1]["tool_calls"][0] == {"function": {"name": "add", "arguments": {"a": 2, "b": 12}}}
    assert sent["messages"][2] == {"role": "tool", "content": "14", "tool_name": "add"}


def test_llama2_ollama_embeddings(selfhosted_gateway, selfhosted_upstream):
    # The SDK asks for base64 unless told otherwise, and decodes it; Ollama answers numbers, which
    # the SDK takes as they are.
    response = client(selfhosted_gateway).embeddings.create(model="all-minilm", input=["a", "b"])

    assert response.model == "all-minilm"
    assert [d.embedding for d in response.data] == EMBEDDINGS
    assert [d.index for d in response.data] == [0, 1]
    assert (response.usage.prompt_tokens, response.usage.total_tokens) == (EMBED_TOKENS, EMBED_TOKENS)
    sent = selfhosted_upstream.last("/ollama/api/embed")["body"]
    assert sent == {"model": "all-minilm", "input": ["a", "b"]}


def test_llama2_refusals_reach_the_sdk_as_400s(selfhosted_gateway):
    try:
        client(selfhosted_gateway).chat.completions.create(model=OLLAMA_MODEL, messages=MESSAGES, logprobs=True)
    except openai.BadRequestError as error:
        assert error.status_code == 400
        assert error.body["message"] == "`logprobs` is not supported by provider llama2"
    else:
        raise AssertionError("logprobs should be refused")
