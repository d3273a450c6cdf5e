"""A mock Hugging Face Inference API that answers as TGI does: chat on the Messages API (JSON and
SSE, with `stream_options.include_usage` and streamed tool calls), text generation and feature
extraction. It records every request.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "kong-ai-proxy" / "huggingface"

CHAT_MODEL = "mistralai/Mistral-7B-Instruct-v0.2"
LOADING_MODEL = "meta-llama/Llama-3.3-70B-Instruct"
EMBEDDINGS_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

STREAM_CONTENT = ["1 + 1", " is 2."]
STREAM_USAGE = {"prompt_tokens": 26, "completion_tokens": 9, "total_tokens": 35}
TOOL_ARGUMENTS = ["{", '"a": 2, "b": 12', "}"]
TOOL_USAGE = {"prompt_tokens": 310, "completion_tokens": 21, "total_tokens": 331}
GENERATED_TEXT = " I am a language model."
EMBEDDINGS = [[0.25, -0.5, 0.125], [1.0, 0.0, -0.001]]


def fixture(relative):
    return (FIXTURES / relative).read_bytes()


def _chunk(choices, usage=None):
    return {
        "object": "chat.completion.chunk",
        "id": "",
        "created": 1732000000,
        "model": CHAT_MODEL,
        "system_fingerprint": "3.0.1-sha-bb9095a",
        "choices": choices,
        "usage": usage,
    }


def _choice(delta, finish_reason=None):
    return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]


def chat_stream_events(include_usage):
    """TGI's chat stream: every delta carries the role; the last one TGI's `eos_token`."""
    events = [_chunk(_choice({"role": "assistant", "content": text})) for text in STREAM_CONTENT]
    events.append(_chunk(_choice({"role": "assistant", "content": ""}, "eos_token")))
    if include_usage:
        events.append(_chunk([], STREAM_USAGE))
    return events


def tool_stream_events(include_usage):
    """TGI's stream of one tool call: the call's JSON in `arguments` fragments at index 0."""

    def call(name, arguments):
        return {
            "role": "assistant",
            "tool_calls": [
                {"index": 0, "id": "", "type": "function", "function": {"name": name, "arguments": arguments}}
            ],
        }

    events = [_chunk(_choice(call("add" if i == 0 else None, fragment))) for i, fragment in enumerate(TOOL_ARGUMENTS)]
    events[-1]["choices"][0]["finish_reason"] = "eos_token"
    if include_usage:
        events.append(_chunk([], TOOL_USAGE))
    return events


def generation():
    return [
        {
            "generated_text": GENERATED_TEXT,
            "details": {
                "finish_reason": "length",
                "generated_tokens": 8,
                "seed": None,
                "prefill": [
                    {"id": 1, "text": "<s>", "logprob": None},
                    {"id": 1824, "text": "What", "logprob": -9.5},
                    {"id": 460, "text": " are", "logprob": -3.1},
                ],
                "tokens": [],
            },
        }
    ]


class HuggingFaceUpstream:
    """A threaded HTTP/1.1 server answering Hugging Face's paths."""

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
                path = self.path.partition("?")[0]
                request = json.loads(body or b"null")
                with upstream._lock:
                    upstream.requests.append(
                        {"path": path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": request}
                    )
                if path == f"/models/{CHAT_MODEL}/v1/chat/completions":
                    include_usage = (request.get("stream_options") or {}).get("include_usage", False)
                    if request.get("stream") and request.get("tools"):
                        self._send_stream(tool_stream_events(include_usage))
                    elif request.get("stream"):
                        self._send_stream(chat_stream_events(include_usage))
                    else:
                        self._send(200, fixture("llm-v1-chat/responses/good.json"))
                elif path == f"/models/{LOADING_MODEL}/v1/chat/completions":
                    self._send(503, fixture("llm-v1-chat/responses/bad_response_model_load.json"))
                elif path == f"/models/{CHAT_MODEL}":
                    self._send(200, json.dumps(generation()).encode())
                elif path == f"/pipeline/feature-extraction/{EMBEDDINGS_MODEL}":
                    self._send(200, json.dumps(EMBEDDINGS[: len(request["inputs"])]).encode())
                else:
                    self._send(404, json.dumps({"error": f"Model {path} does not exist"}).encode())

            def _read_body(self):
                if "chunked" not in self.headers.get("transfer-encoding", "").lower():
                    return self.rfile.read(int(self.headers.get("content-length", 0)))
                body = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return body
                    body += self.rfile.read(size)
                    self.rfile.readline()

            def _send(self, status, body):
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _send_stream(self, events):
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                payloads = [json.dumps(e, separators=(",", ":")) for e in events] + ["[DONE]"]
                for payload in payloads:
                    data = f"data:{payload}\n\n".encode()
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
