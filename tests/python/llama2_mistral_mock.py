"""Mock upstreams for test_llama2.py and test_mistral.py, each speaking its real wire format, and the
gateway in front of them.

- Ollama (`/ollama/api/chat`, `/ollama/api/embed`): JSON replies, NDJSON streams (unless the body
  says `"stream": false`, as Ollama does), tool calls whole in one line with arguments as objects.
- Mistral's API (`/mistral/v1/chat/completions`, `/mistral/v1/embeddings`): OpenAI's shape in
  Mistral's dialect: tool calls without `type`, usage on the last stream chunk, base64 embeddings
  when asked.

Every request is recorded. The gateway gets a providers directory with the llama2 and mistral
modules cargo built beside AI_GATEWAY_BIN, so that the runner needs to know nothing about them.
"""

import base64
import json
import struct

import pytest

from conftest import gateway_env, kong_config, module_path, start_gateway
from mock_server import RecordingServer, lower_headers, read_body, send_chunked, send_json

OLLAMA_MODEL = "llama3.2:1b"
MISTRAL_MODEL = "mistral-small-latest"
MISTRAL_KEY = "Bearer mistral-configured-key"

ANSWER = "1 + 1 = 2."
STREAM_TEXT = ["The answer", " is 2."]
# Ollama's counts: prompt_eval_count and eval_count.
OLLAMA_COUNTS = (26, 7)
MISTRAL_USAGE = {"prompt_tokens": 25, "completion_tokens": 12, "total_tokens": 37}
TOOL_CALLS = [("add", {"a": 2, "b": 12}), ("multiply", {"a": 14, "b": 10})]
MISTRAL_CALL_IDS = ["D681PevKs", "Kq9x1Lmn2"]
EMBEDDINGS = [[0.25, -0.5, 1.0], [0.125, 0.0, -2.0]]
EMBED_TOKENS = 9
CREATED_AT = "2024-01-15T08:13:38.876196Z"
CREATED = 1705306418

MODULES = ["libai_provider_llama2.so", "libai_provider_mistral.so"]


def _ollama_message(request):
    if request.get("tools") and request["messages"][-1]["role"] == "user":
        return {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"function": {"name": name, "arguments": arguments}} for name, arguments in TOOL_CALLS],
        }
    return {"role": "assistant", "content": ANSWER}


def ollama_reply(request):
    return {
        "model": request["model"],
        "created_at": CREATED_AT,
        "message": _ollama_message(request),
        "done_reason": "stop",
        "done": True,
        "total_duration": 4062418334,
        "prompt_eval_count": OLLAMA_COUNTS[0],
        "eval_count": OLLAMA_COUNTS[1],
    }


def ollama_stream(request):
    """NDJSON lines: text in pieces, or the tool calls in one line, then the `done` line."""
    message = _ollama_message(request)
    line = lambda message, done: {"model": request["model"], "created_at": CREATED_AT, "message": message, "done": done}  # noqa: E731
    if "tool_calls" in message:
        lines = [line(message, False)]
    else:
        lines = [line({"role": "assistant", "content": text}, False) for text in STREAM_TEXT]
    last = line({"role": "assistant", "content": ""}, True)
    last.update(done_reason="stop", prompt_eval_count=OLLAMA_COUNTS[0], eval_count=OLLAMA_COUNTS[1])
    return [json.dumps(l) + "\n" for l in lines + [last]]


def ollama_embed(request):
    return {"model": request["model"], "embeddings": EMBEDDINGS[: len(request["input"]) if isinstance(request["input"], list) else 1], "prompt_eval_count": EMBED_TOKENS}


def _mistral_tool_calls():
    return [
        {"id": call_id, "function": {"name": name, "arguments": json.dumps(arguments)}, "index": index}
        for index, (call_id, (name, arguments)) in enumerate(zip(MISTRAL_CALL_IDS, TOOL_CALLS))
    ]


def mistral_reply(request):
    wants_tools = request.get("tools") and request["messages"][-1]["role"] == "user"
    message = {"role": "assistant", "content": ANSWER, "tool_calls": None, "prefix": False}
    if wants_tools:
        message.update(content="", tool_calls=_mistral_tool_calls())
    return {
        "id": "cmpl-e5cc70bb28c444948073e77776eb30ef",
        "object": "chat.completion",
        "created": 1702256327,
        "model": request["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if wants_tools else "stop"}],
        "usage": MISTRAL_USAGE,
    }


def mistral_stream(request):
    def chunk(delta, finish_reason=None, **extra):
        return {
            "id": "cmpl-7f1d",
            "object": "chat.completion.chunk",
            "created": 1735000000,
            "model": request["model"],
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            **extra,
        }

    events = [chunk({"role": "assistant", "content": ""})]
    if request.get("tools"):
        events.append(chunk({"tool_calls": _mistral_tool_calls()}, "tool_calls", usage=MISTRAL_USAGE))
    else:
        events += [chunk({"content": text}) for text in STREAM_TEXT[:-1]]
        events.append(chunk({"content": STREAM_TEXT[-1]}, "stop", usage=MISTRAL_USAGE))
    return [f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]


def mistral_embeddings(request):
    inputs = request["input"] if isinstance(request["input"], list) else [request["input"]]
    as_base64 = request.get("encoding_format") == "base64"

    def encoded(vector):
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode() if as_base64 else vector

    return {
        "id": "emb-7c2",
        "object": "list",
        "model": request["model"],
        "data": [{"object": "embedding", "embedding": encoded(EMBEDDINGS[i]), "index": i} for i in range(len(inputs))],
        "usage": {"prompt_tokens": EMBED_TOKENS, "completion_tokens": 0, "total_tokens": EMBED_TOKENS, "prompt_audio_seconds": None},
    }


class Upstream(RecordingServer):
    """Records every request and answers by path."""

    def handle(self, handler):
        path = handler.path
        request = json.loads(read_body(handler) or b"{}")
        self.record({"path": path, "headers": lower_headers(handler), "body": request})
        # Ollama streams unless it reads `"stream": false`.
        ollama_streams = request.get("stream", True)
        if path == "/ollama/api/chat" and ollama_streams:
            send_chunked(handler, "application/x-ndjson", ollama_stream(request))
        elif path == "/ollama/api/chat":
            send_json(handler, 200, ollama_reply(request))
        elif path == "/ollama/api/embed":
            send_json(handler, 200, ollama_embed(request))
        elif path == "/mistral/v1/chat/completions" and request.get("stream"):
            send_chunked(handler, "text/event-stream", mistral_stream(request))
        elif path == "/mistral/v1/chat/completions":
            send_json(handler, 200, mistral_reply(request))
        elif path == "/mistral/v1/embeddings":
            send_json(handler, 200, mistral_embeddings(request))
        else:
            send_json(handler, 404, {"error": f"no mock for {path}"})


def _route(name, path, route_type, provider, model, options, auth=None):
    options_yaml = "".join(f"\n                  {key}: {json.dumps(value)}" for key, value in options.items())
    auth_yaml = (
        f"""
              auth:
                header_name: Authorization
                header_value: {json.dumps(auth)}"""
        if auth
        else ""
    )
    return f"""      - name: {name}
        paths: [{json.dumps(path)}]
        plugins:
          - name: ai-proxy
            config:
              route_type: {route_type}{auth_yaml}
              model:
                provider: {provider}
                name: {json.dumps(model)}
                options:{options_yaml}
"""


def config(upstream_url):
    ollama = {"llama2_format": "ollama", "upstream_url": f"{upstream_url}/ollama/api/chat"}
    routes = [
        # Kong's seed route shape: one /api/chat URL serves chat, and embeddings beside it.
        _route("llama2-chat", "/llama2/v1/chat/completions", "llm/v1/chat", "llama2", OLLAMA_MODEL, ollama),
        _route("llama2-embeddings", "/llama2/v1/embeddings", "llm/v1/embeddings", "llama2", "all-minilm", ollama),
        _route(
            "mistral-chat",
            "/mistral/v1/chat/completions",
            "llm/v1/chat",
            "mistral",
            MISTRAL_MODEL,
            {"mistral_format": "openai", "upstream_url": f"{upstream_url}/mistral/v1/chat/completions"},
            auth=MISTRAL_KEY,
        ),
        _route(
            "mistral-embeddings",
            "/mistral/v1/embeddings",
            "llm/v1/embeddings",
            "mistral",
            "mistral-embed",
            {"mistral_format": "openai", "upstream_url": f"{upstream_url}/mistral/v1/embeddings"},
            auth=MISTRAL_KEY,
        ),
    ]
    return kong_config("selfhosted", routes)


@pytest.fixture(scope="module")
def selfhosted_upstream():
    server = Upstream()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def selfhosted_gateway(selfhosted_upstream, tmp_path_factory):
    gateway_env()
    modules = {name: module_path(name) for name in MODULES}
    gateway = start_gateway(tmp_path_factory.mktemp("selfhosted"), modules, config(selfhosted_upstream.url))
    yield gateway
    gateway.stop()
