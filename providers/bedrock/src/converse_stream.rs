//! A ConverseStream response (`application/vnd.amazon.eventstream`) as OpenAI's SSE stream.
//!
//! provider-sdk's event-stream decoder checks both checksums of each message and reassembles
//! messages split across chunks (Kong drops them). Each `event` message maps to the writer:
//!
//! | Bedrock event | OpenAI |
//! |---|---|
//! | `messageStart` | the role chunk |
//! | `contentBlockStart` with `toolUse` | a tool call's first delta (`id`, `type`, `name`), OpenAI-indexed |
//! | `contentBlockDelta` `text` | a content delta (text blocks may come with no `contentBlockStart`) |
//! | `contentBlockDelta` `toolUse.input` | an arguments fragment of the call started in that block |
//! | `messageStop` | the finish chunk, `stopReason` mapped |
//! | `metadata` | usage (the usage chunk only if the client asked; always in `meta()`) |
//! | `contentBlockStop`, other deltas (reasoning, citations), unknown events | nothing |
//!
//! Bedrock numbers every content block, text blocks included; OpenAI numbers only tool calls, so the
//! writer renumbers them. Events may carry a `p` padding field, which is ignored. An `exception`
//! message (throttling, validation, model stream errors) ends the stream with an SSE error event,
//! as does a message that cannot be decoded; nothing follows it. `[DONE]` is written when the
//! upstream body ends after `messageStop`.

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan, ResponseMeta};
use provider_sdk::framing::aws_eventstream::{
    EventStreamDecoder, Message, DEFAULT_MAX_MESSAGE_BYTES,
};
use provider_sdk::openai::ChatStreamWriter;
use provider_sdk::StreamTranslate;
use serde::Deserialize;

use crate::errors::{stream_error_message, stream_exception};
use crate::stop_reason::finish_reason;
use crate::usage::TokenUsage;
use crate::PROVIDER;

pub struct ConverseStreamTranslator {
    decoder: EventStreamDecoder,
    writer: ChatStreamWriter,
    /// Whether `messageStop` arrived: a stream that ends before it was cut short.
    stopped: bool,
}

impl ConverseStreamTranslator {
    pub fn new(plan: &RequestPlan<'_>) -> ConverseStreamTranslator {
        ConverseStreamTranslator {
            decoder: EventStreamDecoder::new(DEFAULT_MAX_MESSAGE_BYTES),
            writer: ChatStreamWriter::new(plan),
            stopped: false,
        }
    }
}

impl StreamTranslate for ConverseStreamTranslator {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, ModuleError> {
        let mut out = Vec::new();
        if self.writer.is_ended() {
            return Ok(out);
        }
        let ConverseStreamTranslator {
            decoder,
            writer,
            stopped,
        } = self;
        let decoded = decoder.push(chunk, |message| {
            on_message(writer, stopped, message, &mut out)
        });
        if let Err(error) = decoded {
            writer.error(&mut out, &error);
        }
        Ok(out)
    }

    fn finish(&mut self) -> Result<Vec<u8>, ModuleError> {
        let mut out = Vec::new();
        if self.writer.is_ended() {
            return Ok(out);
        }
        match self.decoder.finish() {
            Err(truncated) => self.writer.error(&mut out, &truncated.into()),
            Ok(()) if !self.stopped => self.writer.error(
                &mut out,
                &ModuleError::bad_upstream(format!(
                    "upstream {PROVIDER} stream ended before its messageStop event"
                )),
            ),
            Ok(()) => self.writer.end(&mut out),
        }
        Ok(out)
    }

    fn meta(&self) -> ResponseMeta {
        self.writer.meta()
    }
}

fn on_message(
    writer: &mut ChatStreamWriter,
    stopped: &mut bool,
    message: Message<'_>,
    out: &mut Vec<u8>,
) -> Result<(), ModuleError> {
    if writer.is_ended() {
        return Ok(());
    }
    match message.message_type() {
        Some("event") => {}
        Some("exception") => {
            let exception = message.exception_type().unwrap_or("exception");
            writer.error(out, &stream_exception(exception, message.payload()));
            return Ok(());
        }
        Some("error") => {
            let code = message.header_str(":error-code").unwrap_or("error");
            let text = message
                .header_str(":error-message")
                .unwrap_or("upstream stream failed");
            writer.error(out, &stream_error_message(code, text));
            return Ok(());
        }
        other => {
            return Err(ModuleError::bad_upstream(format!(
                "upstream {PROVIDER} stream sent a message of type {other:?}"
            )))
        }
    }
    let payload = message.payload();
    match message.event_type().unwrap_or_default() {
        "messageStart" => writer.start(out),
        "contentBlockStart" => {
            let event: ContentBlockStart<'_> = event("contentBlockStart", payload)?;
            if let Some(tool) = event.start.and_then(|s| s.tool_use) {
                writer.tool_call_start(
                    out,
                    event.content_block_index,
                    &tool.tool_use_id,
                    &tool.name,
                );
            }
        }
        "contentBlockDelta" => {
            let event: ContentBlockDelta<'_> = event("contentBlockDelta", payload)?;
            if let Some(text) = &event.delta.text {
                writer.text(out, text);
            }
            if let Some(tool) = &event.delta.tool_use {
                writer.tool_call_arguments(out, event.content_block_index, &tool.input)?;
            }
        }
        "messageStop" => {
            let event: MessageStop<'_> = event("messageStop", payload)?;
            writer.finish(out, finish_reason(&event.stop_reason));
            *stopped = true;
        }
        "metadata" => {
            let event: Metadata = event("metadata", payload)?;
            if let Some(usage) = event.usage {
                writer.record_usage(usage.to_usage());
            }
        }
        _ => {}
    }
    Ok(())
}

fn event<'a, T: Deserialize<'a>>(name: &str, payload: &'a [u8]) -> Result<T, ModuleError> {
    provider_sdk::json_bytes::from_bytes(payload).map_err(|e| {
        ModuleError::bad_upstream(format!(
            "upstream {PROVIDER} stream sent a {name} event that cannot be read: {e}"
        ))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContentBlockStart<'a> {
    #[serde(borrow, default)]
    start: Option<BlockStart<'a>>,
    content_block_index: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockStart<'a> {
    #[serde(borrow, default)]
    tool_use: Option<ToolUseStart<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolUseStart<'a> {
    #[serde(borrow)]
    tool_use_id: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContentBlockDelta<'a> {
    #[serde(borrow)]
    delta: BlockDelta<'a>,
    content_block_index: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlockDelta<'a> {
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_use: Option<ToolUseDelta<'a>>,
}

#[derive(Deserialize)]
struct ToolUseDelta<'a> {
    #[serde(borrow)]
    input: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageStop<'a> {
    #[serde(borrow)]
    stop_reason: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    usage: Option<TokenUsage>,
}
