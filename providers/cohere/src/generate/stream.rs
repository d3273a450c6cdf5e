//! Cohere's `/v1/generate` stream (newline-delimited JSON) as OpenAI `text_completion` chunks.
//!
//! | generate event | OpenAI |
//! |---|---|
//! | `text-generation` | a chunk with `text` |
//! | `stream-end` | usage from `response.meta`; the finish chunk, the usage chunk if asked, `[DONE]` |
//! | `stream-error`, or `stream-end` with `ERROR` | an SSE error event with Cohere's `err`; the stream ends |

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan, ResponseMeta};
use provider_sdk::framing::ndjson::NdjsonDecoder;
use provider_sdk::openai::{ChatStreamWriter, MAX_EVENT_BYTES};

use crate::error::bad_event;
use crate::finish_reason::{ending_of, generation_failed, Ending};
use crate::stream::Events;
use crate::usage::CohereUsage;

/// The events of one `/v1/generate` stream.
pub struct GenerateEvents {
    decoder: NdjsonDecoder,
    writer: ChatStreamWriter,
}

impl GenerateEvents {
    pub fn new(plan: &RequestPlan<'_>) -> GenerateEvents {
        GenerateEvents {
            decoder: NdjsonDecoder::new(MAX_EVENT_BYTES),
            writer: ChatStreamWriter::new(plan),
        }
    }
}

impl Events for GenerateEvents {
    fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), ModuleError> {
        let GenerateEvents { decoder, writer } = self;
        decoder.push(chunk, |line| on_line(writer, line, out))
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), ModuleError> {
        let GenerateEvents { decoder, writer } = self;
        decoder.finish(|line| on_line(writer, line, out))?;
        if !writer.is_ended() {
            return Err(ModuleError::bad_upstream(
                "cohere's stream ended before its stream-end event",
            ));
        }
        Ok(())
    }

    fn meta(&self) -> ResponseMeta {
        self.writer.meta()
    }
}

fn on_line(
    writer: &mut ChatStreamWriter,
    line: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), ModuleError> {
    if writer.is_ended() {
        return Ok(());
    }
    let event: GenerateStreamEvent<'_> =
        provider_sdk::json_bytes::from_bytes(line).map_err(|e| bad_event(&e))?;
    match event.event_type.as_ref() {
        "text-generation" => writer.text(out, event.text.as_deref().unwrap_or_default()),
        "stream-error" => {
            let reason = event.finish_reason.as_deref().unwrap_or("ERROR");
            writer.error(out, &generation_failed(reason, event.err.as_deref()));
        }
        "stream-end" => {
            let response = event.response.unwrap_or_default();
            if let Some(meta) = response.meta {
                writer.record_usage(meta.to_usage());
            }
            let reason = event.finish_reason.as_deref();
            match ending_of(reason, false) {
                Ending::Finished(reason) => {
                    writer.finish(out, reason);
                    writer.end(out);
                }
                Ending::Failed => writer.error(
                    out,
                    &generation_failed(reason.unwrap_or_default(), event.err.as_deref()),
                ),
            }
        }
        // An event type added later carries nothing a chunk has.
        _ => {}
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct GenerateStreamEvent<'a> {
    #[serde(borrow)]
    event_type: Cow<'a, str>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    err: Option<Cow<'a, str>>,
    #[serde(default)]
    response: Option<StreamEndResponse>,
}

/// `stream-end`'s `response`: the whole reply, of which only the counts are read.
#[derive(Default, serde::Deserialize)]
struct StreamEndResponse {
    #[serde(default)]
    meta: Option<CohereUsage>,
}
