"""What every mock upstream shares: a threaded HTTP/1.1 server on 127.0.0.1 that records the
requests it receives, and writers for JSON bodies and chunked streams (SSE, NDJSON, raw bytes)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RecordingServer:
    """A threaded HTTP/1.1 server on a free port of 127.0.0.1. Every POST goes to `handle`, which
    subclasses write; `record` keeps what it received for the tests to read."""

    def __init__(self):
        self.requests = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                server.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, handler):
        raise NotImplementedError

    def record(self, request):
        with self._lock:
            self.requests.append(request)

    def last_matching(self, predicate, message):
        """The last recorded request for which `predicate` holds; fails with `message` if none."""
        with self._lock:
            matching = [r for r in self.requests if predicate(r)]
        assert matching, message
        return matching[-1]

    def last(self, path):
        return self.last_matching(lambda r: r["path"] == path, f"the upstream received nothing on {path}")


def lower_headers(handler):
    return {k.lower(): v for k, v in handler.headers.items()}


def read_body(handler):
    """The request body, with or without chunked transfer encoding."""
    if "chunked" not in handler.headers.get("transfer-encoding", "").lower():
        return handler.rfile.read(int(handler.headers.get("content-length", 0)))
    body = b""
    while True:
        size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
        if size == 0:
            while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return body
        body += handler.rfile.read(size)
        handler.rfile.readline()


def send_body(handler, status, body, content_type="application/json", headers=()):
    """A whole response: `body` bytes with content-length, after any extra `headers` pairs."""
    handler.send_response(status)
    handler.send_header("content-type", content_type)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("content-length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def send_json(handler, status, value, content_type="application/json", headers=()):
    send_body(handler, status, json.dumps(value).encode(), content_type, headers)


def send_chunked(handler, content_type, pieces):
    """A 200 with chunked transfer encoding: one chunk, flushed, per piece (str or bytes)."""
    handler.send_response(200)
    handler.send_header("content-type", content_type)
    handler.send_header("transfer-encoding", "chunked")
    handler.end_headers()
    for piece in pieces:
        data = piece.encode() if isinstance(piece, str) else piece
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        handler.wfile.flush()
    handler.wfile.write(b"0\r\n\r\n")
    handler.wfile.flush()


def sse_data(payloads, separator=" "):
    """SSE `data:` events, one per payload string."""
    return [f"data:{separator}{payload}\n\n" for payload in payloads]
