//! Cohere's v2 chat stream (SSE, one JSON event per `data:`) as OpenAI chunks.
//!
//! | v2 event | OpenAI |
//! |---|---|
//! | `message-start` | the role chunk, with Cohere's `id` |
//! | `content-start`, `content-delta` (text) | `delta.content`; thinking deltas are left out, as in JSON responses |
//! | `tool-plan-delta` | `delta.content`, as the JSON response gives the plan as `content` |
//! | `tool-call-start` | `delta.tool_calls[{index, id, type, function: {name, arguments: ""}}]` |
//! | `tool-call-delta` | `delta.tool_calls[{index, function: {arguments}}]` |
//! | `message-end` | usage recorded; the finish chunk, the usage chunk if asked, `[DONE]` |
//! | `message-end` with `ERROR` / `TIMEOUT` | an SSE error event with Cohere's `delta.error`; the stream ends |
//! | `content-end`, `tool-call-end`, `citation-*`, `debug`, unknown | nothing |
//!
//! Tool calls are numbered by the writer from 0 in the order they start, whatever Cohere's
//! `index` (which counts content blocks).

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan, ResponseMeta};
use provider_sdk::framing::{SseDecoder, SseEvent};
use provider_sdk::openai::{ChatStreamWriter, MAX_EVENT_BYTES};

use crate::error::bad_event;
use crate::finish_reason::{ending_of, generation_failed, Ending};
use crate::lenient::IfObject;
use crate::stream::Events;
use crate::usage::CohereUsage;

/// The events of one `/v2/chat` stream.
pub struct V2ChatEvents {
    decoder: SseDecoder,
    writer: ChatStreamWriter,
    called_tools: bool,
}

impl V2ChatEvents {
    pub fn new(plan: &RequestPlan<'_>) -> V2ChatEvents {
        V2ChatEvents {
            decoder: SseDecoder::new(MAX_EVENT_BYTES),
            writer: ChatStreamWriter::new(plan),
            called_tools: false,
        }
    }
}

impl Events for V2ChatEvents {
    fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), ModuleError> {
        let V2ChatEvents {
            decoder,
            writer,
            called_tools,
        } = self;
        decoder.push(chunk, |event| on_event(writer, called_tools, event, out))
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), ModuleError> {
        let V2ChatEvents {
            decoder,
            writer,
            called_tools,
        } = self;
        decoder.finish(|event| on_event(writer, called_tools, event, out))?;
        if !writer.is_ended() {
            return Err(ModuleError::bad_upstream(
                "cohere's stream ended before its message-end event",
            ));
        }
        Ok(())
    }

    fn meta(&self) -> ResponseMeta {
        self.writer.meta()
    }
}

/// One SSE event. Events after the stream's end, blank ones and a `[DONE]` (which Cohere does not
/// send, but a proxy in between might) are skipped.
fn on_event(
    writer: &mut ChatStreamWriter,
    called_tools: &mut bool,
    event: SseEvent<'_>,
    out: &mut Vec<u8>,
) -> Result<(), ModuleError> {
    let data = event.data;
    if writer.is_ended() || data.trim_ascii().is_empty() || data == b"[DONE]" {
        return Ok(());
    }
    let parsed: V2StreamEvent<'_> =
        provider_sdk::json_bytes::from_bytes(data).map_err(|e| bad_event(&e))?;
    let kind = match parsed.kind.as_deref() {
        Some(kind) => kind,
        None => std::str::from_utf8(event.event).unwrap_or_default(),
    };
    translate_event(writer, called_tools, kind, &parsed, out)
}

fn translate_event(
    writer: &mut ChatStreamWriter,
    called_tools: &mut bool,
    kind: &str,
    event: &V2StreamEvent<'_>,
    out: &mut Vec<u8>,
) -> Result<(), ModuleError> {
    let delta = event.delta.as_ref();
    let message = delta.and_then(|d| d.message.0.as_ref());
    match kind {
        "message-start" => {
            writer.identify(event.id.as_deref().unwrap_or_default(), "");
            writer.start(out);
        }
        "content-start" | "content-delta" => {
            let text = message
                .and_then(|m| m.content.0.as_ref())
                .and_then(|c| c.text.as_deref());
            writer.text(out, text.unwrap_or_default());
        }
        "tool-plan-delta" => writer.text(
            out,
            message
                .and_then(|m| m.tool_plan.as_deref())
                .unwrap_or_default(),
        ),
        "tool-call-start" => {
            let call = message
                .and_then(|m| m.tool_calls.0.as_ref())
                .ok_or_else(|| {
                    ModuleError::bad_upstream("cohere's tool-call-start event has no tool call")
                })?;
            let function = call.function.as_ref();
            let block = event.index.unwrap_or_default();
            writer.tool_call_start(
                out,
                block,
                call.id.as_deref().unwrap_or_default(),
                function.and_then(|f| f.name.as_deref()).unwrap_or_default(),
            );
            *called_tools = true;
            let arguments = function.and_then(|f| f.arguments.as_deref());
            writer.tool_call_arguments(out, block, arguments.unwrap_or_default())?;
        }
        "tool-call-delta" => {
            let arguments = message
                .and_then(|m| m.tool_calls.0.as_ref())
                .and_then(|call| call.function.as_ref())
                .and_then(|f| f.arguments.as_deref());
            writer.tool_call_arguments(
                out,
                event.index.unwrap_or_default(),
                arguments.unwrap_or_default(),
            )?;
        }
        "message-end" => {
            if let Some(usage) = delta.and_then(|d| d.usage.as_ref()) {
                writer.record_usage(usage.to_usage());
            }
            let reason = delta.and_then(|d| d.finish_reason.as_deref());
            match ending_of(reason, *called_tools) {
                Ending::Finished(reason) => {
                    writer.finish(out, reason);
                    writer.end(out);
                }
                Ending::Failed => {
                    let detail = delta.and_then(|d| d.error.as_deref());
                    writer.error(out, &generation_failed(reason.unwrap_or_default(), detail));
                }
            }
        }
        // content-end, tool-call-end, citation-start/-end and debug say nothing a chunk carries;
        // an event type added later is skipped the same way.
        _ => {}
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct V2StreamEvent<'a> {
    /// Also the SSE event's name, which is used when this is absent.
    #[serde(rename = "type", default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default)]
    index: Option<u64>,
    #[serde(default, borrow)]
    delta: Option<EventDelta<'a>>,
}

#[derive(serde::Deserialize)]
struct EventDelta<'a> {
    #[serde(default, borrow)]
    message: IfObject<DeltaMessage<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    error: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<CohereUsage>,
}

#[derive(serde::Deserialize)]
struct DeltaMessage<'a> {
    /// An object in content events, an (empty) array in `message-start`.
    #[serde(default, borrow)]
    content: IfObject<DeltaContent<'a>>,
    #[serde(default, borrow)]
    tool_plan: Option<Cow<'a, str>>,
    /// An object in tool-call events, an (empty) array in `message-start`.
    #[serde(default, borrow)]
    tool_calls: IfObject<DeltaToolCall<'a>>,
}

#[derive(serde::Deserialize)]
struct DeltaContent<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct DeltaToolCall<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    function: Option<DeltaFunction<'a>>,
}

#[derive(serde::Deserialize)]
struct DeltaFunction<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}
