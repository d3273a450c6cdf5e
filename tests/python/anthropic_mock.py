"""A mock Anthropic API for the SDK tests: the Messages API and the legacy Text Completions API,
answering with Anthropic's real JSON shapes and named SSE events, and recording every request."""

import json
from pathlib import Path

from mock_server import RecordingServer, lower_headers, read_body, send_body, send_chunked, send_json

SPECS = Path(__file__).resolve().parents[3] / "shared" / "specs" / "anthropic"
KONG_FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "kong-ai-proxy" / "anthropic"

MESSAGE_ID = "msg_01XFDUDYJgAACzvnptvVoYEL"
ANSWERING_MODEL = "claude-sonnet-4-5-20250929"

# Anthropic's `basic_response.txt` transcript: "Hello there!", 11 tokens in, 6 out in all.
BASIC_STREAM = (SPECS / "sse-fixtures" / "basic_response.txt").read_bytes()
BASIC_STREAM_TEXT = "Hello there!"
BASIC_STREAM_USAGE = (11, 6)

TOOL_CALLS = [
    ("toolu_01Add", "add", {"a": 2, "b": 12}),
    ("toolu_02Mul", "multiply", {"a": 3, "b": 4}),
]


def message(content, stop_reason, usage):
    return {
        "id": MESSAGE_ID,
        "type": "message",
        "role": "assistant",
        "model": ANSWERING_MODEL,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def text_message():
    """A text reply that read most of its prompt from the cache."""
    return message(
        [{"type": "text", "text": "1 + 1 = 2."}],
        "end_turn",
        {
            "input_tokens": 20,
            "cache_creation_input_tokens": 100,
            "cache_read_input_tokens": 1000,
            "output_tokens": 8,
        },
    )


def tool_use_message():
    content = [{"type": "text", "text": "Let me compute both."}]
    content += [{"type": "tool_use", "id": id, "name": name, "input": args} for id, name, args in TOOL_CALLS]
    return message(content, "tool_use", {"input_tokens": 640, "output_tokens": 97})


def _event(name, data):
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def tool_use_stream():
    """Two tool calls streamed the way Anthropic streams them: arguments in `input_json_delta`
    fragments that split keys and values."""
    events = [
        _event(
            "message_start",
            {
                "type": "message_start",
                "message": {**message([], None, {"input_tokens": 640, "output_tokens": 1}), "stop_reason": None},
            },
        ),
        _event("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        _event("ping", {"type": "ping"}),
        _event(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Let me compute both."}},
        ),
        _event("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ]
    for offset, (id, name, args) in enumerate(TOOL_CALLS, start=1):
        events.append(
            _event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": offset,
                    "content_block": {"type": "tool_use", "id": id, "name": name, "input": {}},
                },
            )
        )
        arguments = json.dumps(args)
        for fragment in ["", arguments[:5], arguments[5:11], arguments[11:]]:
            events.append(
                _event(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": offset,
                        "delta": {"type": "input_json_delta", "partial_json": fragment},
                    },
                )
            )
        events.append(_event("content_block_stop", {"type": "content_block_stop", "index": offset}))
    events.append(
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": 97},
            },
        )
    )
    events.append(_event("message_stop", {"type": "message_stop"}))
    return events


class AnthropicUpstream(RecordingServer):
    """Records every request and answers as Anthropic would."""

    def handle(self, handler):
        path = handler.path
        request = json.loads(read_body(handler) or b"{}")
        self.record({"path": path, "headers": lower_headers(handler), "body": request})
        if path == "/unauthorized/v1/messages":
            send_body(handler, 401, (KONG_FIXTURES / "llm-v1-chat" / "responses" / "unauthorized.json").read_bytes())
        elif path == "/v1/messages" and request.get("stream"):
            send_chunked(handler, "text/event-stream", tool_use_stream() if request.get("tools") else [BASIC_STREAM])
        elif path == "/v1/messages":
            send_json(handler, 200, tool_use_message() if request.get("tools") else text_message())
        elif path == "/v1/complete":
            send_body(handler, 200, (KONG_FIXTURES / "llm-v1-completions" / "responses" / "good.json").read_bytes())
        else:
            send_json(handler, 404, {"type": "error", "error": {"type": "not_found_error", "message": "Not found"}})

    def last(self, path):
        return self.last_matching(lambda r: r["path"] == path, f"the mock Anthropic received nothing on {path}")
