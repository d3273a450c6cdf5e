//! Cohere's v1 chat stream (newline-delimited JSON, `event_type` in each line) as OpenAI chunks.
//!
//! | v1 event | OpenAI |
//! |---|---|
//! | `stream-start` | the role chunk, with `generation_id` as its id |
//! | `text-generation` | `delta.content` |
//! | `tool-calls-generation` | its `text` (the plan) as `delta.content`, then each call whole, numbered 0, 1, … |
//! | `tool-calls-chunk` | nothing: the same calls come whole in `tool-calls-generation` |
//! | `stream-end` | usage from `response.meta` (or `response.token_count`); finish chunk, usage chunk if asked, `[DONE]` |
//! | `stream-end` with `ERROR` | an SSE error event; the stream ends |
//! | `search-*`, `citation-generation`, `debug`, unknown | nothing |
//!
//! Kong turns `stream-end` into `[DONE]` without a finish chunk, drops tool calls, and reads the
//! prompt count of `token_count` wrongly.

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan, ResponseMeta};
use provider_sdk::framing::ndjson::NdjsonDecoder;
use provider_sdk::openai::{ChatStreamWriter, MAX_EVENT_BYTES};
use provider_sdk::tool_calls::input_to_arguments;

use super::response::V1ResponseToolCall;
use super::tools::call_id;
use crate::error::bad_event;
use crate::finish_reason::{ending_of, generation_failed, Ending};
use crate::stream::Events;
use crate::usage::{v1_chat_usage, CohereUsage, LegacyTokenCount};

/// The events of one `/v1/chat` stream.
pub struct V1ChatEvents {
    decoder: NdjsonDecoder,
    state: State,
}

struct State {
    writer: ChatStreamWriter,
    generation_id: String,
    calls: usize,
}

impl V1ChatEvents {
    pub fn new(plan: &RequestPlan<'_>) -> V1ChatEvents {
        V1ChatEvents {
            decoder: NdjsonDecoder::new(MAX_EVENT_BYTES),
            state: State {
                writer: ChatStreamWriter::new(plan),
                generation_id: String::new(),
                calls: 0,
            },
        }
    }
}

impl Events for V1ChatEvents {
    fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), ModuleError> {
        let V1ChatEvents { decoder, state } = self;
        decoder.push(chunk, |line| state.on_line(line, out))
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), ModuleError> {
        let V1ChatEvents { decoder, state } = self;
        decoder.finish(|line| state.on_line(line, out))?;
        if !state.writer.is_ended() {
            return Err(ModuleError::bad_upstream(
                "cohere's stream ended before its stream-end event",
            ));
        }
        Ok(())
    }

    fn meta(&self) -> ResponseMeta {
        self.state.writer.meta()
    }
}

impl State {
    fn on_line(&mut self, line: &[u8], out: &mut Vec<u8>) -> Result<(), ModuleError> {
        if self.writer.is_ended() {
            return Ok(());
        }
        let event: V1StreamEvent<'_> =
            provider_sdk::json_bytes::from_bytes(line).map_err(|e| bad_event(&e))?;
        let writer = &mut self.writer;
        match event.event_type.as_ref() {
            "stream-start" => {
                if let Some(id) = event.generation_id.as_deref() {
                    id.clone_into(&mut self.generation_id);
                    writer.identify(id, "");
                }
                writer.start(out);
            }
            "text-generation" => writer.text(out, event.text.as_deref().unwrap_or_default()),
            "tool-calls-generation" => {
                writer.text(out, event.text.as_deref().unwrap_or_default());
                for call in event.tool_calls.unwrap_or_default() {
                    let id = call_id(&self.generation_id, self.calls);
                    writer.tool_call(out, &id, &call.name, &input_to_arguments(call.parameters));
                    self.calls += 1;
                }
            }
            "stream-end" => {
                let response = event.response.unwrap_or_default();
                writer.record_usage(v1_chat_usage(
                    response.meta.as_ref(),
                    response.token_count.as_ref(),
                ));
                let reason = event.finish_reason.or(response.finish_reason);
                match ending_of(reason.as_deref(), self.calls > 0) {
                    Ending::Finished(reason) => {
                        writer.finish(out, reason);
                        writer.end(out);
                    }
                    Ending::Failed => {
                        let detail = event.error.or(response.error);
                        writer.error(
                            out,
                            &generation_failed(
                                reason.as_deref().unwrap_or_default(),
                                detail.as_deref(),
                            ),
                        );
                    }
                }
            }
            // tool-calls-chunk repeats what tool-calls-generation says whole; search and citation
            // events, debug and event types added later carry nothing a chunk has.
            _ => {}
        }
        Ok(())
    }
}

#[derive(serde::Deserialize)]
struct V1StreamEvent<'a> {
    #[serde(borrow)]
    event_type: Cow<'a, str>,
    #[serde(default, borrow)]
    generation_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<V1ResponseToolCall<'a>>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    error: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    response: Option<StreamEndResponse<'a>>,
}

/// `stream-end`'s `response`: the whole reply, of which only the counts are read.
#[derive(Default, serde::Deserialize)]
struct StreamEndResponse<'a> {
    #[serde(default)]
    meta: Option<CohereUsage>,
    #[serde(default)]
    token_count: Option<LegacyTokenCount>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    error: Option<Cow<'a, str>>,
}
