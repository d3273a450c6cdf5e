"""A mock of Google's Gemini API that answers in Gemini's real wire format: generateContent JSON,
streamGenerateContent as server-sent events (alt=sse), embedContent / batchEmbedContents, and
Google's error body for a wrong API key. It records every request.

The model ARRAY_MODEL streams the way Google does without alt=sse, as one JSON array sent piece
by piece, as an upstream that ignores `alt` would."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

GEMINI_KEY = "AIza-sdk-configured"
MODEL_VERSION = "gemini-2.0-flash-001"
RESPONSE_ID = "gemini-sdk-response"
STREAM_TEXT = ["1 + 1", " = 2."]
STREAM_USAGE = {"promptTokenCount": 11, "candidatesTokenCount": 6, "totalTokenCount": 17}
TOOL_CALL = {"name": "add", "args": {"a": 2, "b": 12}}
ARRAY_MODEL = "gemini-json-array"

INVALID_KEY = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}],
    }
}


def response(parts, finish_reason=None, usage=None):
    candidate = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish_reason:
        candidate["finishReason"] = finish_reason
    body = {"candidates": [candidate], "modelVersion": MODEL_VERSION, "responseId": RESPONSE_ID}
    if usage:
        body["usageMetadata"] = usage
    return body


def answer(request):
    """A whole answer: a function call when the request offers tools, else text."""
    usage = {"promptTokenCount": 9, "candidatesTokenCount": 7, "totalTokenCount": 16}
    if request.get("tools"):
        return response([{"functionCall": TOOL_CALL}], "STOP", usage)
    return response([{"text": "1 + 1 = 2."}], "STOP", usage)


def stream(request):
    """A streamed answer: text in pieces, or one function call, usage on every element."""
    first_usage = {"promptTokenCount": STREAM_USAGE["promptTokenCount"], "totalTokenCount": STREAM_USAGE["promptTokenCount"]}
    if request.get("tools"):
        return [
            response([{"functionCall": TOOL_CALL}], None, first_usage),
            response([{"text": ""}], "STOP", STREAM_USAGE),
        ]
    return [
        response([{"text": STREAM_TEXT[0]}], None, first_usage),
        response([{"text": STREAM_TEXT[1]}], "STOP", STREAM_USAGE),
    ]


class GeminiUpstream:
    def __init__(self):
        self.requests = []
        self._lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                path, _, query = self.path.partition("?")
                body = json.loads(raw or b"null")
                with upstream._lock:
                    upstream.requests.append(
                        {
                            "path": path,
                            "query": parse_qs(query),
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                        }
                    )
                if self.headers.get("x-goog-api-key") != GEMINI_KEY:
                    return self._send(400, INVALID_KEY)
                method = path.rsplit(":", 1)[-1]
                if method == "generateContent":
                    self._send(200, answer(body))
                elif method == "streamGenerateContent" and f"/models/{ARRAY_MODEL}:" in path:
                    elements = [json.dumps(e, indent=2) for e in stream(body)]
                    text = "[" + "\n,\r\n".join(elements) + "]"
                    self._send_chunked("application/json; charset=UTF-8", [text[:40], text[40:]])
                elif method == "streamGenerateContent" and parse_qs(query).get("alt") == ["sse"]:
                    events = [f"data: {json.dumps(e)}\r\n\r\n" for e in stream(body)]
                    self._send_chunked("text/event-stream", events)
                elif method == "embedContent":
                    self._send(200, {"embedding": {"values": [0.5, -0.25, 0.125]}})
                elif method == "batchEmbedContents":
                    count = len(body["requests"])
                    self._send(200, {"embeddings": [{"values": [0.5, float(i)]} for i in range(count)]})
                else:
                    self._send(404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}})

            def _send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json; charset=UTF-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _send_chunked(self, content_type, pieces):
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

    def last(self, method):
        """The last request whose path ends with `:method`."""
        with self._lock:
            matching = [r for r in self.requests if r["path"].endswith(f":{method}")]
        assert matching, f"the upstream received no {method} request"
        return matching[-1]
