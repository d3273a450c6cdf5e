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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

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


class Upstream:
    """A threaded HTTP/1.1 server that records every request and answers by path."""

    def __init__(self):
        self.requests = []
        self._lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self._read_body()
                path, _, query = self.path.partition("?")
                with upstream._lock:
                    upstream.requests.append(
                        {
                            "path": path,
                            "query": query,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": json.loads(body or b"null"),
                        }
                    )
                request = json.loads(body or b"{}")
                azure_chat = f"/openai/deployments/{AZURE_CHAT_DEPLOYMENT}/chat/completions"
                azure_embeddings = f"/openai/deployments/{AZURE_EMBEDDINGS_DEPLOYMENT}/embeddings"
                if path == azure_chat and request.get("stream"):
                    self._send_stream(azure_chat_stream_events())
                elif path == azure_chat:
                    self._send(200, json.dumps(azure_chat_response()).encode())
                elif path == azure_embeddings:
                    self._send(200, fixture("llm-v1-embeddings/responses/good.json"))
                elif self.path == "/unauthorized/v1/chat/completions":
                    self._send(401, fixture("llm-v1-chat/responses/unauthorized.json"))
                elif self.path == "/v1/chat/completions" and request.get("stream"):
                    self._send_stream(chat_stream_events())
                elif self.path == "/v1/chat/completions":
                    self._send(200, fixture("llm-v1-chat/responses/good.json"))
                elif self.path == "/v1/completions":
                    self._send(200, fixture("llm-v1-completions/responses/good.json"))
                elif self.path == "/v1/embeddings":
                    self._send(200, fixture("llm-v1-embeddings/responses/good.json"))
                else:
                    self._send(
                        404,
                        json.dumps(
                            {
                                "error": {
                                    "message": "no such mock path",
                                    "type": "invalid_request_error",
                                    "param": None,
                                    "code": None,
                                }
                            }
                        ).encode(),
                    )

            def _read_body(self):
                if "chunked" in self.headers.get("transfer-encoding", "").lower():
                    body = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return body
                        body += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("content-length", 0)))

            def _send(self, status, body):
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _send_stream(self, payloads):
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for payload in payloads:
                    data = f"data: {payload}\n\n".encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def last(self, path):
        with self._lock:
            matching = [r for r in self.requests if r["path"] == path]
        assert matching, f"the upstream received nothing on {path}"
        return matching[-1]


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
    return (
        '_format_version: "3.0"\nservices:\n  - name: sdk\n    url: http://localhost:32000\n    routes:\n'
        + "".join(routes)
    )


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


@pytest.fixture(scope="session")
def upstream():
    server = Upstream()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="session")
def gateway(upstream, tmp_path_factory):
    binary = os.environ.get("AI_GATEWAY_BIN")
    providers = os.environ.get("AI_GATEWAY_PROVIDERS")
    if not binary or not providers:
        pytest.fail(
            "set AI_GATEWAY_BIN and AI_GATEWAY_PROVIDERS, or run this suite through "
            "`cargo test -p ai-gateway-tests sdk_conformance`",
            pytrace=False,
        )
    config_path = tmp_path_factory.mktemp("gateway") / "kong.yaml"
    config_path.write_text(config(upstream.url))
    gateway = Gateway(binary, providers, config_path)
    yield gateway
    gateway.stop()
