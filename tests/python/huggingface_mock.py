"""A mock Hugging Face Inference API that answers as TGI does: chat on the Messages API (JSON and
SSE, with `stream_options.include_usage` and streamed tool calls), text generation and feature
extraction. It records every request.
"""

import json
from pathlib import Path

from mock_server import RecordingServer, lower_headers, read_body, send_body, send_chunked, send_json, sse_data

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


class HuggingFaceUpstream(RecordingServer):
    """Answers Hugging Face's paths."""

    def handle(self, handler):
        body = read_body(handler)
        path = handler.path.partition("?")[0]
        request = json.loads(body or b"null")
        self.record({"path": path, "headers": lower_headers(handler), "body": request})
        if path == f"/models/{CHAT_MODEL}/v1/chat/completions":
            include_usage = (request.get("stream_options") or {}).get("include_usage", False)
            if request.get("stream") and request.get("tools"):
                self._send_stream(handler, tool_stream_events(include_usage))
            elif request.get("stream"):
                self._send_stream(handler, chat_stream_events(include_usage))
            else:
                send_body(handler, 200, fixture("llm-v1-chat/responses/good.json"))
        elif path == f"/models/{LOADING_MODEL}/v1/chat/completions":
            send_body(handler, 503, fixture("llm-v1-chat/responses/bad_response_model_load.json"))
        elif path == f"/models/{CHAT_MODEL}":
            send_json(handler, 200, generation())
        elif path == f"/pipeline/feature-extraction/{EMBEDDINGS_MODEL}":
            send_json(handler, 200, EMBEDDINGS[: len(request["inputs"])])
        else:
            send_json(handler, 404, {"error": f"Model {path} does not exist"})

    @staticmethod
    def _send_stream(handler, events):
        """TGI's SSE: `data:` without a space, compact JSON, then `[DONE]`."""
        payloads = [json.dumps(e, separators=(",", ":")) for e in events] + ["[DONE]"]
        send_chunked(handler, "text/event-stream", sse_data(payloads, separator=""))
