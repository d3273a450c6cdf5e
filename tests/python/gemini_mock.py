"""A mock of Google's Gemini API that answers in Gemini's real wire format: generateContent JSON,
streamGenerateContent as server-sent events (alt=sse), embedContent / batchEmbedContents, and
Google's error body for a wrong API key. It records every request.

The model ARRAY_MODEL streams the way Google does without alt=sse, as one JSON array sent piece
by piece, as an upstream that ignores `alt` would."""

import json
from urllib.parse import parse_qs

from mock_server import RecordingServer, lower_headers, read_body, send_chunked, send_json

GEMINI_KEY = "AIza-sdk-configured"
MODEL_VERSION = "gemini-2.0-flash-001"
RESPONSE_ID = "gemini-sdk-response"
STREAM_TEXT = ["1 + 1", " = 2."]
STREAM_USAGE = {"promptTokenCount": 11, "candidatesTokenCount": 6, "totalTokenCount": 17}
TOOL_CALL = {"name": "add", "args": {"a": 2, "b": 12}}
ARRAY_MODEL = "gemini-json-array"
JSON = "application/json; charset=UTF-8"

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


class GeminiUpstream(RecordingServer):
    def handle(self, handler):
        raw = read_body(handler)
        path, _, query = handler.path.partition("?")
        body = json.loads(raw or b"null")
        self.record({"path": path, "query": parse_qs(query), "headers": lower_headers(handler), "body": body})
        if handler.headers.get("x-goog-api-key") != GEMINI_KEY:
            return send_json(handler, 400, INVALID_KEY, JSON)
        method = path.rsplit(":", 1)[-1]
        if method == "generateContent":
            send_json(handler, 200, answer(body), JSON)
        elif method == "streamGenerateContent" and f"/models/{ARRAY_MODEL}:" in path:
            elements = [json.dumps(e, indent=2) for e in stream(body)]
            text = "[" + "\n,\r\n".join(elements) + "]"
            send_chunked(handler, JSON, [text[:40], text[40:]])
        elif method == "streamGenerateContent" and parse_qs(query).get("alt") == ["sse"]:
            send_chunked(handler, "text/event-stream", [f"data: {json.dumps(e)}\r\n\r\n" for e in stream(body)])
        elif method == "embedContent":
            send_json(handler, 200, {"embedding": {"values": [0.5, -0.25, 0.125]}}, JSON)
        elif method == "batchEmbedContents":
            count = len(body["requests"])
            send_json(handler, 200, {"embeddings": [{"values": [0.5, float(i)]} for i in range(count)]}, JSON)
        else:
            send_json(handler, 404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}}, JSON)

    def last(self, method):
        """The last request whose path ends with `:method`."""
        return self.last_matching(lambda r: r["path"].endswith(f":{method}"), f"the upstream received no {method} request")
