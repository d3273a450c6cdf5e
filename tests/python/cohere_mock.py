"""A mock Cohere upstream for test_cohere.py: it answers with Cohere's own shapes (v2 chat JSON and
SSE, v1 chat NDJSON, v2 embed) and records every request it receives."""

import json

from mock_server import RecordingServer, lower_headers, read_body, send_chunked, send_json

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


class CohereUpstream(RecordingServer):
    """Records every request and answers by path."""

    def handle(self, handler):
        path = handler.path
        request = json.loads(read_body(handler) or b"{}")
        self.record({"path": path, "headers": lower_headers(handler), "body": request})
        streaming = request.get("stream") is True
        if path == "/unauthorized/v2/chat":
            send_json(handler, 401, {"message": "invalid api token"})
        elif path == "/v2/chat" and streaming:
            events = tool_call_stream() if request.get("tools") else text_stream()
            send_chunked(handler, "text/event-stream", (f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events))
        elif path == "/v2/chat":
            send_json(handler, 200, tool_call_response() if request.get("tools") else chat_response())
        elif path == "/v1/chat" and streaming:
            send_chunked(handler, "application/stream+json", (json.dumps(e) + "\n" for e in v1_stream()))
        elif path == "/v2/embed":
            send_json(handler, 200, embed_response(request))
        else:
            send_json(handler, 404, {"message": f"no such mock path {path}"})
