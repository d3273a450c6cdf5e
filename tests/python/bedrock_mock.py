"""A mock Amazon Bedrock Runtime for the Bedrock SDK tests.

It checks every request's SigV4 signature with botocore and the known test secret, as Bedrock
does (a wrong one is answered 403 InvalidSignatureException), records what it received, and
answers in Bedrock's real wire formats: Converse JSON, ConverseStream frames of
`application/vnd.amazon.eventstream` (prelude and message CRC-32s), and Titan's InvokeModel JSON.
"""

import datetime
import json
import struct
import zlib
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from mock_server import RecordingServer, lower_headers, read_body, send_chunked, send_json

ACCESS_KEY_ID = "AKIDEXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-west-2"

ANSWER = "Pi is about 3.14159."
STREAM_TEXT = ["Pi is", " about", " 3.14159."]
USAGE = {"inputTokens": 12, "outputTokens": 9, "totalTokens": 21}
TOOL_ARGUMENT_FRAGMENTS = ['{"a": 2', ', "b": 12}']
EMBEDDING = [0.125, -0.5, 0.25]
THROTTLED = "throttle me"


def frame(headers, payload):
    """One event-stream message with string headers."""
    encoded = b""
    for name, value in headers.items():
        name, value = name.encode(), value.encode()
        encoded += bytes([len(name)]) + name + b"\x07" + struct.pack(">H", len(value)) + value
    prelude = struct.pack(">II", 16 + len(encoded) + len(payload), len(encoded))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack(">I", zlib.crc32(message))


def event(event_type, payload):
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    # Bedrock pads events with a `p` field of random length.
    return frame(headers, json.dumps({**payload, "p": "abcdefgh"[: len(event_type) % 8]}).encode())


def text_stream():
    events = [event("messageStart", {"role": "assistant"})]
    events += [event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": t}}) for t in STREAM_TEXT]
    events.append(event("contentBlockStop", {"contentBlockIndex": 0}))
    events.append(event("messageStop", {"stopReason": "end_turn"}))
    events.append(event("metadata", {"usage": USAGE, "metrics": {"latencyMs": 120}}))
    return events


def tool_stream(tool_name):
    """A text block without contentBlockStart, then a tool call in block 1."""
    events = [
        event("messageStart", {"role": "assistant"}),
        event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Adding."}}),
        event("contentBlockStop", {"contentBlockIndex": 0}),
        event(
            "contentBlockStart",
            {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tooluse_sdk1", "name": tool_name}}},
        ),
    ]
    events += [
        event("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": fragment}}})
        for fragment in TOOL_ARGUMENT_FRAGMENTS
    ]
    events.append(event("contentBlockStop", {"contentBlockIndex": 1}))
    events.append(event("messageStop", {"stopReason": "tool_use"}))
    events.append(event("metadata", {"usage": USAGE, "metrics": {"latencyMs": 150}}))
    return events


def converse_answer(request):
    if "toolConfig" in request:
        tool = request["toolConfig"]["tools"][0]["toolSpec"]["name"]
        content = [{"toolUse": {"toolUseId": "tooluse_sdk0", "name": tool, "input": {"a": 2, "b": 12}}}]
        stop_reason = "tool_use"
    else:
        content = [{"text": ANSWER}]
        stop_reason = "end_turn"
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason,
        "usage": USAGE,
        "metrics": {"latencyMs": 200},
    }


def expected_authorization(method, url, headers, body):
    """The Authorization header botocore computes for the request as received: the headers it
    says it signed, its body, and its x-amz-date."""
    authorization = headers.get("authorization", "")
    signed = authorization.partition("SignedHeaders=")[2].partition(",")[0].split(";")
    to_sign = {name: headers[name] for name in signed if name in headers and name != "x-amz-date"}
    request = AWSRequest(method=method, url=url, headers=to_sign, data=body)
    when = datetime.datetime.strptime(headers.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ").replace(
        tzinfo=datetime.timezone.utc
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), "bedrock", REGION).add_auth(request)
    return request.headers["Authorization"]


class BedrockMock(RecordingServer):
    """A Bedrock Runtime on 127.0.0.1."""

    def handle(self, handler):
        body = read_body(handler)
        headers = lower_headers(handler)
        path = handler.path
        url = f"http://{headers.get('host', '')}{path}"
        try:
            signature_ok = expected_authorization("POST", url, headers, body) == headers.get("authorization")
        except ValueError:
            signature_ok = False
        record = {"path": path, "headers": headers, "body": json.loads(body or b"null"), "signature_ok": signature_ok}
        self.record(record)
        if not signature_ok:
            return _error(
                handler,
                403,
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided.",
            )
        request = record["body"] or {}
        if path.endswith("/invoke"):
            return send_json(handler, 200, {"embedding": EMBEDDING, "inputTextTokenCount": 6})
        text = json.dumps(request.get("messages", []))
        if THROTTLED in text:
            return _error(handler, 429, "ThrottlingException", "Too many requests, please wait before trying again.")
        if path.endswith("/converse-stream"):
            tools = request.get("toolConfig", {}).get("tools", [])
            events = tool_stream(tools[0]["toolSpec"]["name"]) if tools else text_stream()
            data = b"".join(events)
            # Writes that split frames, as the network does.
            pieces = [data[start : start + 37] for start in range(0, len(data), 37)]
            return send_chunked(handler, "application/vnd.amazon.eventstream", pieces)
        if path.endswith("/converse"):
            return send_json(handler, 200, converse_answer(request))
        return _error(handler, 404, "UnknownOperationException", "no such operation")

    def last(self, suffix):
        return self.last_matching(lambda r: r["path"].endswith(suffix), f"Bedrock received nothing on *{suffix}")


def _error(handler, status, error_type, message):
    error_header = ("x-amzn-ErrorType", f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/")
    send_json(handler, status, {"message": message}, headers=[error_header])
