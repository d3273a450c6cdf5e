"""The gateway under test, in front of a mock OpenAI upstream that answers with real OpenAI shapes.

The Rust test `sdk_conformance` runs this suite with AI_GATEWAY_BIN (the gateway binary) and
AI_GATEWAY_PROVIDERS (a directory holding the OpenAI and Azure modules) set. The mock also
answers Azure OpenAI's deployment paths with Azure's shapes.
"""

import json
import os
import queue
import subprocess
import threading
from pathlib import Path

import openai
import pytest

from mock_server import RecordingServer, lower_headers, read_body, send_body, send_chunked, send_json, sse_data

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "kong-ai-proxy" / "openai"

CONFIGURED_AUTH = "Bearer sk-configured"
AZURE_KEY = "azure-configured-key"
AZURE_INSTANCE = "001-kong-t"
AZURE_CHAT_DEPLOYMENT = "gpt-4o-prod"
AZURE_EMBEDDINGS_DEPLOYMENT = "embeddings-prod"
AZURE_API_VERSION = "2024-10-21"
CHAT_MODEL = "gpt-3.5-turbo"
COMPLETIONS_MODEL = "gpt-3.5-turbo-instruct"
EMBEDDINGS_MODEL = "text-embedding-3-large"

STREAM_CONTENT = ["The answer", " is 2."]
STREAM_USAGE = {"prompt_tokens": 25, "completion_tokens": 12, "total_tokens": 37}


def fixture(relative):
    return (FIXTURES / relative).read_bytes()


def _chunk(choices, **extra):
    return {
        "id": "chatcmpl-sdk",
        "object": "chat.completion.chunk",
        "created": 1711938086,
        "model": "gpt-3.5-turbo-0125",
        "system_fingerprint": None,
        "choices": choices,
        **extra,
    }


def _choice(delta, finish_reason=None):
    return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]


def chat_stream_events():
    """An OpenAI chat stream as sent with `stream_options.include_usage`."""
    events = [_chunk(_choice({"role": "assistant", "content": ""}))]
    events += [_chunk(_choice({"content": text})) for text in STREAM_CONTENT]
    events.append(_chunk(_choice({}, "stop")))
    events.append(_chunk([], usage=STREAM_USAGE))
    return [json.dumps(e) for e in events] + ["[DONE]"]


AZURE_FILTER = {"hate": {"filtered": False, "severity": "safe"}, "violence": {"filtered": False, "severity": "safe"}}


def azure_chat_response():
    """A chat completion as Azure writes it: OpenAI's shape plus the content filter's verdicts."""
    return {
        "choices": [
            {
                "content_filter_results": AZURE_FILTER,
                "finish_reason": "stop",
                "index": 0,
                "logprobs": None,
                "message": {"content": "1 + 1 = 2.", "refusal": None, "role": "assistant"},
            }
        ],
        "created": 1731000000,
        "id": "chatcmpl-AzUre",
        "model": "gpt-4o-2024-08-06",
        "object": "chat.completion",
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": AZURE_FILTER}],
        "system_fingerprint": "fp_04751d0b65",
        "usage": {"completion_tokens": 7, "prompt_tokens": 25, "total_tokens": 32},
    }


def azure_chat_stream_events():
    """An Azure chat stream with `include_usage`. Azure opens with a chunk that carries only the
    prompt's filter results, with empty id, model and `object`."""
    first = {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": AZURE_FILTER}],
    }

    def chunk(choices, **extra):
        return {
            "choices": choices,
            "created": 1731000000,
            "id": "chatcmpl-AzUre",
            "model": "gpt-4o-2024-08-06",
            "object": "chat.completion.chunk",
            "system_fingerprint": "fp_1",
            **extra,
        }

    def choice(delta, finish_reason=None):
        return [
            {
                "content_filter_results": AZURE_FILTER,
                "delta": delta,
                "finish_reason": finish_reason,
                "index": 0,
                "logprobs": None,
            }
        ]

    events = [first, chunk(choice({"content": "", "role": "assistant"}))]
    events += [chunk(choice({"content": text})) for text in STREAM_CONTENT]
    events.append(chunk(choice({}, "stop")))
    events.append(chunk([], usage=STREAM_USAGE))
    return [json.dumps(e, separators=(",", ":")) for e in events] + ["[DONE]"]


class Upstream(RecordingServer):
    """Records every request and answers by path."""

    def handle(self, handler):
        body = read_body(handler)
        path, _, query = handler.path.partition("?")
        self.record({"path": path, "query": query, "headers": lower_headers(handler), "body": json.loads(body or b"null")})
        request = json.loads(body or b"{}")
        azure_chat = f"/openai/deployments/{AZURE_CHAT_DEPLOYMENT}/chat/completions"
        azure_embeddings = f"/openai/deployments/{AZURE_EMBEDDINGS_DEPLOYMENT}/embeddings"
        if path == azure_chat and request.get("stream"):
            send_chunked(handler, "text/event-stream", sse_data(azure_chat_stream_events()))
        elif path == azure_chat:
            send_json(handler, 200, azure_chat_response())
        elif path == azure_embeddings:
            send_body(handler, 200, fixture("llm-v1-embeddings/responses/good.json"))
        elif handler.path == "/unauthorized/v1/chat/completions":
            send_body(handler, 401, fixture("llm-v1-chat/responses/unauthorized.json"))
        elif handler.path == "/v1/chat/completions" and request.get("stream"):
            send_chunked(handler, "text/event-stream", sse_data(chat_stream_events()))
        elif handler.path == "/v1/chat/completions":
            send_body(handler, 200, fixture("llm-v1-chat/responses/good.json"))
        elif handler.path == "/v1/completions":
            send_body(handler, 200, fixture("llm-v1-completions/responses/good.json"))
        elif handler.path == "/v1/embeddings":
            send_body(handler, 200, fixture("llm-v1-embeddings/responses/good.json"))
        else:
            error = {"message": "no such mock path", "type": "invalid_request_error", "param": None, "code": None}
            send_json(handler, 404, {"error": error})


def _yaml_string(value):
    # JSON strings are valid YAML double-quoted scalars.
    return json.dumps(value)


def _route(name, path, route_type, model, upstream_url):
    return f"""      - name: {name}
        paths: [{_yaml_string(path)}]
        plugins:
          - name: ai-proxy
            config:
              route_type: {route_type}
              auth:
                header_name: Authorization
                header_value: {_yaml_string(CONFIGURED_AUTH)}
              model:
                provider: openai
                name: {_yaml_string(model)}
                options:
                  upstream_url: {_yaml_string(upstream_url)}
"""


def _azure_route(name, path, route_type, model, deployment, upstream_url):
    return f"""      - name: {name}
        paths: [{_yaml_string(path)}]
        plugins:
          - name: ai-proxy
            config:
              route_type: {route_type}
              auth:
                header_name: api-key
                header_value: {_yaml_string(AZURE_KEY)}
              model:
                provider: azure
                name: {_yaml_string(model)}
                options:
                  azure_instance: {_yaml_string(AZURE_INSTANCE)}
                  azure_deployment_id: {_yaml_string(deployment)}
                  azure_api_version: {_yaml_string(AZURE_API_VERSION)}
                  upstream_url: {_yaml_string(upstream_url)}
"""


def config(upstream_url):
    routes = [
        _route(
            "chat",
            "/sdk/v1/chat/completions",
            "llm/v1/chat",
            CHAT_MODEL,
            upstream_url + "/v1/chat/completions",
        ),
        _route(
            "completions",
            "/sdk/v1/completions",
            "llm/v1/completions",
            COMPLETIONS_MODEL,
            upstream_url + "/v1/completions",
        ),
        _route(
            "embeddings",
            "/sdk/v1/embeddings",
            "llm/v1/embeddings",
            EMBEDDINGS_MODEL,
            upstream_url + "/v1/embeddings",
        ),
        _route(
            "bad-key",
            "/bad-key/v1/chat/completions",
            "llm/v1/chat",
            CHAT_MODEL,
            upstream_url + "/unauthorized/v1/chat/completions",
        ),
        _azure_route(
            "azure-chat",
            "/azure/v1/chat/completions",
            "llm/v1/chat",
            "gpt-4o",
            AZURE_CHAT_DEPLOYMENT,
            upstream_url,
        ),
        _azure_route(
            "azure-embeddings",
            "/azure/v1/embeddings",
            "llm/v1/embeddings",
            EMBEDDINGS_MODEL,
            AZURE_EMBEDDINGS_DEPLOYMENT,
            upstream_url,
        ),
    ]
    return kong_config("sdk", routes)


class Gateway:
    def __init__(self, binary, providers, config_path):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AI_GATEWAY_")}
        self.process = subprocess.Popen(
            [
                binary,
                "serve",
                "--config",
                str(config_path),
                "--providers",
                providers,
                "--listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
                "--workers",
                "1",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        self.stderr = []
        threading.Thread(target=lambda: self.stderr.extend(self.process.stderr), daemon=True).start()
        ready = queue.Queue()

        def read_stdout():
            for line in self.process.stdout:
                if line.startswith("ai-gateway ready: "):
                    ready.put(line.split())

        threading.Thread(target=read_stdout, daemon=True).start()
        try:
            # ai-gateway ready: proxy URL admin URL
            words = ready.get(timeout=60)
        except queue.Empty:
            self.process.kill()
            raise RuntimeError("ai-gateway printed no ready line; stderr:\n" + "".join(self.stderr)) from None
        self.proxy = words[3].rstrip("/")
        self.admin = words[5].rstrip("/")

    def stop(self):
        self.process.kill()
        self.process.wait()


ENV_HINT = (
    "set AI_GATEWAY_BIN and AI_GATEWAY_PROVIDERS, or run this suite through "
    "`cargo test -p ai-gateway-tests sdk_conformance`"
)


def gateway_env(hint=ENV_HINT):
    """AI_GATEWAY_BIN and AI_GATEWAY_PROVIDERS, failing the test with `hint` when either is unset."""
    binary = os.environ.get("AI_GATEWAY_BIN")
    providers = os.environ.get("AI_GATEWAY_PROVIDERS")
    if not binary or not providers:
        pytest.fail(hint, pytrace=False)
    return binary, providers


def module_path(name):
    """A provider module cargo built: in the providers directory the runner gives, or beside the
    gateway binary of the same profile (cargo puts cdylibs in `deps/`)."""
    profile = Path(os.environ["AI_GATEWAY_BIN"]).parent
    candidates = [Path(os.environ["AI_GATEWAY_PROVIDERS"]) / name, profile / "deps" / name, profile / name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    pytest.fail(f"{name} was not built (looked in {', '.join(map(str, candidates))})", pytrace=False)


def kong_config(service, routes):
    """A declarative config with one service holding `routes` (YAML fragments)."""
    return (
        f'_format_version: "3.0"\nservices:\n  - name: {service}\n    url: http://localhost:32000\n    routes:\n'
        + "".join(routes)
    )


def start_gateway(directory, modules, config_text):
    """The gateway on `config_text` with its own providers directory in `directory`, holding the
    modules `modules` maps by file name to their built paths."""
    providers = directory / "providers"
    providers.mkdir()
    for name, path in modules.items():
        (providers / name).symlink_to(path)
    config_path = directory / "kong.yaml"
    config_path.write_text(config_text)
    return Gateway(os.environ["AI_GATEWAY_BIN"], str(providers), config_path)


def sdk_client(base_url, api_key="sk-sdk-client"):
    """The official OpenAI client, validating every response strictly, without retries."""
    return openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, _strict_response_validation=True)


@pytest.fixture(scope="session")
def upstream():
    server = Upstream()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="session")
def gateway(upstream, tmp_path_factory):
    binary, providers = gateway_env()
    config_path = tmp_path_factory.mktemp("gateway") / "kong.yaml"
    config_path.write_text(config(upstream.url))
    gateway = Gateway(binary, providers, config_path)
    yield gateway
    gateway.stop()
