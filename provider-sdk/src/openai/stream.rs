//! Relays an OpenAI-compatible SSE stream to the client event by event, metering it on the way.
//!
//! Most chunks only carry a delta, so JSON is parsed only for the events that can say something
//! the gateway meters: the first chunks (until the model is known), chunks that carry a `usage`
//! object, and chunks with a non-null `finish_reason`. The others are forwarded unparsed.

use std::sync::LazyLock;

use abi_stable::std_types::RString;

use super::response::ResponseSkim;
use crate::abi::{ModuleError, ResponseMeta, Usage};
use crate::export::StreamTranslate;
use crate::framing::{write_data_event, SseDecoder, SseEvent, DONE_EVENT};
use crate::json_member::MemberFinder;

/// The largest event a relay buffers. OpenAI chunks are a few hundred bytes; a megabyte leaves
/// room for large tool-call or audio deltas while bounding what a broken upstream can cost.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// How the relay writes what it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    /// Each event re-framed as `data: …\n\n`. The usage-only chunk that the gateway asked for on
    /// the client's behalf is dropped unless the client asked for it too.
    Reframed { client_wants_usage: bool },
    /// The upstream bytes unchanged (native and `preserve` traffic); events are only read for
    /// metering, which stops quietly if the stream cannot be decoded.
    Verbatim,
}

/// What the stream said about itself so far.
#[derive(Debug, Default)]
struct Seen {
    id: String,
    model: String,
    usage: Option<Usage>,
    finish_reasons: Vec<RString>,
}

impl Seen {
    fn needs_skim(&self, data: &[u8]) -> bool {
        self.model.is_empty()
            || has_member_starting_with(data, &USAGE_MEMBER, b'{')
            || has_member_starting_with(data, &FINISH_REASON_MEMBER, b'"')
    }

    fn record(&mut self, skim: &ResponseSkim<'_>) {
        if self.id.is_empty() {
            if let Some(id) = &skim.id {
                self.id.push_str(id);
            }
        }
        if self.model.is_empty() {
            if let Some(model) = &skim.model {
                self.model.push_str(model);
            }
        }
        if skim.usage.is_some() {
            self.usage = skim.usage;
        }
        self.finish_reasons.extend(
            skim.finish_reasons
                .iter()
                .map(|r| RString::from(r.as_ref())),
        );
    }

    /// Reads one event; returns whether it is the usage-only chunk (`choices: []` with usage).
    fn read(&mut self, data: &[u8]) -> bool {
        if data == b"[DONE]" || !self.needs_skim(data) {
            return false;
        }
        match ResponseSkim::parse(data) {
            Ok(skim) => {
                self.record(&skim);
                skim.usage.is_some() && skim.choices == Some(0)
            }
            Err(_) => false,
        }
    }
}

/// A [`StreamTranslate`] for upstreams that already speak OpenAI's SSE.
#[derive(Debug)]
pub struct ChunkRelay {
    /// `None` once a verbatim stream proved undecodable.
    decoder: Option<SseDecoder>,
    output: Output,
    seen: Seen,
    /// The `object` to write into re-framed chunks that carry `"object":""`.
    empty_object_name: Option<&'static str>,
}

/// How Azure writes the `object` of the chunk that opens its streams (the one carrying
/// `prompt_filter_results`). Its JSON is compact. Text inside a JSON string cannot hold these bare
/// quotes, so only a member whose key ends in `object` with an empty string value can match, and
/// rewriting it keeps the JSON valid.
const EMPTY_OBJECT_MEMBER: &[u8] = b"\"object\":\"\"";

impl ChunkRelay {
    /// Re-frames each event as `data: …\n\n`, passes `[DONE]` and in-stream errors through, and
    /// drops the usage-only chunk unless `client_wants_usage`.
    pub fn reframing(client_wants_usage: bool) -> ChunkRelay {
        ChunkRelay::with_output(Output::Reframed { client_wants_usage })
    }

    /// Forwards the upstream bytes unchanged and only meters them.
    pub fn verbatim() -> ChunkRelay {
        ChunkRelay::with_output(Output::Verbatim)
    }

    /// Names the `object` of re-framed chunks that leave it empty, as Azure's first chunk does:
    /// OpenAI's SDKs reject `"object":""` under strict validation. Every other byte is kept.
    pub fn naming_empty_objects(mut self, object: &'static str) -> ChunkRelay {
        self.empty_object_name = Some(object);
        self
    }

    fn with_output(output: Output) -> ChunkRelay {
        ChunkRelay {
            decoder: Some(SseDecoder::new(MAX_EVENT_BYTES)),
            output,
            seen: Seen::default(),
            empty_object_name: None,
        }
    }

    fn relay(&mut self, chunk: Option<&[u8]>) -> Result<Vec<u8>, ModuleError> {
        let Some(decoder) = self.decoder.as_mut() else {
            return Ok(chunk.map(<[u8]>::to_vec).unwrap_or_default());
        };
        let seen = &mut self.seen;
        let empty_object_name = self.empty_object_name;
        let mut out = Vec::new();
        let result = match self.output {
            Output::Reframed { client_wants_usage } => {
                out.reserve(chunk.map_or(0, <[u8]>::len) + 16);
                let on_event = |event: SseEvent<'_>| -> Result<(), ModuleError> {
                    if event.data == b"[DONE]" {
                        out.extend_from_slice(DONE_EVENT);
                    } else if !seen.read(event.data) || client_wants_usage {
                        match empty_object_name.and_then(|name| named(event.data, name)) {
                            Some(repaired) => write_data_event(&mut out, &repaired),
                            None => write_data_event(&mut out, event.data),
                        }
                    }
                    Ok(())
                };
                match chunk {
                    Some(chunk) => decoder.push(chunk, on_event),
                    None => decoder.finish(on_event),
                }
            }
            Output::Verbatim => {
                out.extend_from_slice(chunk.unwrap_or_default());
                let on_event = |event: SseEvent<'_>| -> Result<(), ModuleError> {
                    seen.read(event.data);
                    Ok(())
                };
                let metered = match chunk {
                    Some(chunk) => decoder.push(chunk, on_event),
                    None => decoder.finish(on_event),
                };
                if metered.is_err() {
                    self.decoder = None;
                }
                Ok(())
            }
        };
        result.map(|()| out)
    }
}

impl StreamTranslate for ChunkRelay {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, ModuleError> {
        self.relay(Some(chunk))
    }

    fn finish(&mut self) -> Result<Vec<u8>, ModuleError> {
        self.relay(None)
    }

    fn meta(&self) -> ResponseMeta {
        ResponseMeta {
            usage: self.seen.usage.unwrap_or_default(),
            response_model: self.seen.model.as_str().into(),
            response_id: self.seen.id.as_str().into(),
            finish_reasons: self.seen.finish_reasons.iter().cloned().collect(),
        }
    }
}

/// `data` with its `"object":""` member set to `name`; `None` when it has none.
fn named(data: &[u8], name: &str) -> Option<Vec<u8>> {
    let at = data
        .windows(EMPTY_OBJECT_MEMBER.len())
        .position(|window| window == EMPTY_OBJECT_MEMBER)?;
    let (before, after) = data.split_at(at);
    let after = after.get(EMPTY_OBJECT_MEMBER.len()..).unwrap_or_default();
    let mut repaired = Vec::with_capacity(data.len() + name.len());
    repaired.extend_from_slice(before);
    repaired.extend_from_slice(b"\"object\":\"");
    repaired.extend_from_slice(name.as_bytes());
    repaired.push(b'"');
    repaired.extend_from_slice(after);
    Some(repaired)
}

// Built once: building a searcher costs more than searching one chunk.
static USAGE_MEMBER: LazyLock<MemberFinder> = LazyLock::new(|| MemberFinder::new("usage"));
static FINISH_REASON_MEMBER: LazyLock<MemberFinder> =
    LazyLock::new(|| MemberFinder::new("finish_reason"));

/// Whether `data` has a member named by `key`, at any depth, whose value starts with `first`; a
/// false positive would only cost a parse.
fn has_member_starting_with(data: &[u8], key: &MemberFinder, first: u8) -> bool {
    key.values(data).any(|at| data.get(at) == Some(&first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_sniffing_finds_values_not_text() {
        let key = &FINISH_REASON_MEMBER;
        assert!(has_member_starting_with(
            br#"{"finish_reason":"stop"}"#,
            key,
            b'"'
        ));
        assert!(has_member_starting_with(
            b"{\"finish_reason\" :\n \"stop\"}",
            key,
            b'"'
        ));
        assert!(!has_member_starting_with(
            br#"{"finish_reason": null}"#,
            key,
            b'"'
        ));
        assert!(!has_member_starting_with(
            br#"{"content":"\"finish_reason\":\"x\"","finish_reason":null}"#,
            key,
            b'"'
        ));
        assert!(!has_member_starting_with(
            br#"{"a":"finish_reason"}"#,
            key,
            b'"'
        ));
        assert!(has_member_starting_with(
            br#"{"usage":null,"x":{"usage": {"prompt_tokens":1}}}"#,
            &USAGE_MEMBER,
            b'{'
        ));
        assert!(!has_member_starting_with(
            br#"{"usage"#,
            &USAGE_MEMBER,
            b'{'
        ));
    }

    #[test]
    fn verbatim_forwards_bytes_and_meters() {
        let stream: &[u8] = b"data: {\"id\":\"r\",\"model\":\"m\",\"choices\":[]}\r\n\r\n\
data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}\r\n\r\n\
data: [DONE]";
        for at in 0..=stream.len() {
            let mut relay = ChunkRelay::verbatim();
            let (a, b) = stream.split_at(at);
            let mut out = relay.push(a).unwrap();
            out.extend(relay.push(b).unwrap());
            out.extend(relay.finish().unwrap());
            assert_eq!(out, stream);
            let meta = relay.meta();
            assert_eq!(meta.usage.total_tokens, Some(7).into());
            assert_eq!(meta.response_model.as_str(), "m");
        }
    }

    #[test]
    fn verbatim_keeps_forwarding_what_it_cannot_decode() {
        let mut relay = ChunkRelay::verbatim();
        let huge = vec![b'x'; MAX_EVENT_BYTES + 1];
        assert_eq!(relay.push(b"data: ").unwrap(), b"data: ");
        assert_eq!(relay.push(&huge).unwrap(), huge);
        assert_eq!(relay.push(b"\n\n").unwrap(), b"\n\n");
        assert_eq!(relay.finish().unwrap(), b"");
        assert_eq!(relay.meta(), ResponseMeta::default());
    }

    #[test]
    fn empty_objects_are_named_only_when_asked() {
        let azure_first = br#"{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}"#;
        let text = br#"{"choices":[{"delta":{"content":"\"object\":\"\""},"index":0}],"id":"c","model":"gpt-4o","object":"chat.completion.chunk"}"#;
        let mut stream = Vec::new();
        for event in [&azure_first[..], text] {
            write_data_event(&mut stream, event);
        }

        let mut relay = ChunkRelay::reframing(false).naming_empty_objects("chat.completion.chunk");
        let out = relay.push(&stream).unwrap();
        let mut expected = Vec::new();
        write_data_event(
            &mut expected,
            br#"{"choices":[],"created":0,"id":"","model":"","object":"chat.completion.chunk","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{}}]}"#,
        );
        write_data_event(&mut expected, text);
        assert_eq!(out, expected);
        assert_eq!(relay.meta().response_model.as_str(), "gpt-4o");
        assert_eq!(relay.meta().response_id.as_str(), "c");

        let mut plain = ChunkRelay::reframing(false);
        assert_eq!(plain.push(&stream).unwrap(), stream);
    }

    #[test]
    fn reframing_fails_on_an_oversized_event() {
        let mut relay = ChunkRelay::reframing(false);
        let huge = vec![b'x'; MAX_EVENT_BYTES + 1];
        let error = relay.push(&huge).unwrap_err();
        assert_eq!(error.status, 502);
    }
}
