"""A mock Cohere upstream for test_cohere.py: it answers with Cohere's own shapes (v2 chat JSON and
SSE, v1 chat NDJSON, v2 embed) and records every request it receives."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESPONSE_ID = "c14c80c3-18eb-4519-9460-6c92edd8cfb4"
STREAM_ID = "29f14a5a-11de-4cae-9800-25e4747408ea"
GENERATION_ID = "10f31c2f-1a4c-48cf-b500-dc8141a25ae5"

ANSWER = "1 + 1 = 2."
STREAM_TEXT = ["The answer", " is 2."]
# Cohere's usage: the tokens the model read and wrote, what was billed, and the prompt tokens
# served from its cache.
USAGE = {
    "billed_units": {"input_tokens": 12, "output_tokens": 7},
    "tokens": {"input_tokens": 78, "output_tokens": 7},
    "cached_tokens": 64,
}
TOOL_PLAN = "I will add the numbers, then multiply them."
TOOL_CALLS = [
    ("add_9x2k", "add", {"a": 2, "b": 12}),
    ("multiply_4p7q", "multiply", {"a": 3, "b": 4}),
]
EMBEDDING = [0.25, -0.5, 1.0]
EMBED_TOKENS = 5


def chat_response():
    return {
        "id": RESPONSE_ID,
        "finish_reason": "COMPLETE",
        "message": {"role": "assistant", "content": [{"type": "text", "text": ANSWER}]},
        "usage": USAGE,
    }


def tool_call_response():
    return {
        "id": RESPONSE_ID,
        "finish_reason": "TOOL_CALL",
        "message": {
            "role": "assistant",
            "tool_plan": TOOL_PLAN,
            "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
                for call_id, name, arguments in TOOL_CALLS
            ],
        },
        "usage": USAGE,
    }


def _message_end(reason):
    return {"type": "message-end", "delta": {"finish_reason": reason, "usage": USAGE}}


def text_stream():
    """A v2 stream as Cohere sends it: named SSE events, one JSON object each."""
    events = [
        {"id": STREAM_ID, "type": "message-start", "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}},
        {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text", "text": ""}}}},
    ]
    events += [{"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": t}}}} for t in STREAM_TEXT]
    events += [{"type": "content-end", "index": 0}, _message_end("COMPLETE")]
    return events


def tool_call_stream():
    """A v2 stream with a plan and two tool calls, whose arguments arrive in pieces."""
    events = [
        {"id": STREAM_ID, "type": "message-start", "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}},
        {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": TOOL_PLAN}}},
    ]
    for index, (call_id, name, arguments) in enumerate(TOOL_CALLS, start=1):
        text = json.dumps(arguments)
        events.append(
            {"type": "tool-call-start", "index": index, "delta": {"message": {"tool_calls": {"id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}}}}
        )
        for piece in (text[:5], text[5:]):
            events.append({"type": "tool-call-delta", "index": index, "delta": {"message": {"tool_calls": {"function": {"arguments": piece}}}}})
        events.append({"type": "tool-call-end", "index": index})
    events.append(_message_end("TOOL_CALL"))
    return events


def v1_stream():
    """A v1 chat stream: newline-delimited JSON with `event_type`."""
    return [
        {"is_finished": False, "event_type": "stream-start", "generation_id": GENERATION_ID},
        *({"is_finished": False, "event_type": "text-generation", "text": t} for t in STREAM_TEXT),
        {
            "is_finished": True,
            "event_type": "stream-end",
            "finish_reason": "COMPLETE",
            "response": {"generation_id": GENERATION_ID, "text": "".join(STREAM_TEXT), "meta": {"billed_units": {"input_tokens": 12, "output_tokens": 7}}},
        },
    ]


def embed_response(request):
    embeddings = {"float": [EMBEDDING for _ in request["texts"]]}
    if "base64" in request.get("embedding_types", []):
        embeddings["base64"] = ["(Cohere's own base64, which the gateway does not read)" for _ in request["texts"]]
    return {
        "id": "embed-1",
        "embeddings": embeddings,
        "texts": request["texts"],
        "meta": {"api_version": {"version": "2"}, "billed_units": {"input_tokens": EMBED_TOKENS}},
        "response_type": "embeddings_by_type",
    }


class CohereUpstream:
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
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                request = json.loads(body or b"{}")
                with upstream._lock:
                    upstream.requests.append(
                        {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": request}
                    )
                streaming = request.get("stream") is True
                if self.path == "/unauthorized/v2/chat":
                    self._send(401, {"message": "invalid api token"})
                elif self.path == "/v2/chat" and streaming:
                    events = tool_call_stream() if request.get("tools") else text_stream()
                    self._stream("text/event-stream", (f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events))
                elif self.path == "/v2/chat":
                    self._send(200, tool_call_response() if request.get("tools") else chat_response())
                elif self.path == "/v1/chat" and streaming:
                    self._stream("application/stream+json", (json.dumps(e) + "\n" for e in v1_stream()))
                elif self.path == "/v2/embed":
                    self._send(200, embed_response(request))
                else:
                    self._send(404, {"message": f"no such mock path {self.path}"})

            def _send(self, status, payload):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream(self, content_type, pieces):
                self.send_response(200)
                self.send_header("content-type", content_type)
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for piece in pieces:
                    data = piece.encode()
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
