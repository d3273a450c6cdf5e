//! `application/vnd.amazon.eventstream` frames as Bedrock's ConverseStream writes them, so that a
//! mock Bedrock answers in the real wire format: a prelude with its CRC-32, string headers, a JSON
//! payload, and the message's CRC-32.

use provider_sdk::framing::aws_eventstream::{
    encode_event, encode_exception, encode_message, HeaderValue,
};
use serde_json::Value;

/// One message with string headers, encoded by the SDK whose decoder the gateway runs.
pub fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let headers: Vec<(&str, HeaderValue<'_>)> = headers
        .iter()
        .map(|&(name, value)| (name, HeaderValue::String(value)))
        .collect();
    encode_message(&headers, payload).unwrap()
}

/// A ConverseStream event, e.g. `contentBlockDelta`.
pub fn event(event_type: &str, payload: &Value) -> Vec<u8> {
    encode_event(event_type, payload.to_string().as_bytes()).unwrap()
}

/// A ConverseStream exception, e.g. `throttlingException`.
pub fn exception(exception_type: &str, message: &str) -> Vec<u8> {
    let body = serde_json::json!({ "message": message }).to_string();
    encode_exception(exception_type, body.as_bytes()).unwrap()
}

/// Standard base64 (RFC 4648), for Kong's base64 stream fixtures.
pub fn base64_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut bits, mut count) = (0u32, 0);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        };
        bits = (bits << 6 | u32::from(value)) & 0xFFFF;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}
