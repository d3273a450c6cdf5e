//! Mistral's streamed chat completions as OpenAI's SSE stream (`mistral_format: openai`).
//!
//! Mistral streams OpenAI-shaped chunks with the differences of its replies ([`crate::response`])
//! plus one more: `usage` rides on the chunk that carries the `finish_reason`, whether or not the
//! client asked. Each chunk is read and written again through provider-sdk's stream writer, so the
//! client gets the usage chunk (`choices: []`) only when it asked for it, and the route's
//! statistics always get the usage. Tool calls come whole in one delta (a Mistral model) or in
//! OpenAI's pieces (an OpenAI-compatible server); either way they leave with an `index`, and the
//! first delta of each with `id`, `type` and `name`. An error object in the stream ends it with an
//! SSE error event; so does a stream that stops before any `finish_reason`.

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan};
use provider_sdk::framed_stream::{FramedStream, StreamEvents};
use provider_sdk::framing::{SseDecoder, SseEvent};
use provider_sdk::openai::{ChatStreamWriter, MAX_EVENT_BYTES};
use serde::Deserialize;

use crate::response::{finish_reason, MistralContent, MistralToolCall, MistralUsage};
use crate::PROVIDER;

pub type MistralStream = FramedStream<MistralEvents>;

#[derive(Debug)]
pub struct MistralEvents {
    identified: bool,
    finished: bool,
    /// Calls started so far, numbering those that come without an `index`.
    tool_calls: u64,
}

pub fn new_stream(plan: &RequestPlan<'_>) -> MistralStream {
    FramedStream::new(
        SseDecoder::new(MAX_EVENT_BYTES),
        ChatStreamWriter::new(plan),
        MistralEvents {
            identified: false,
            finished: false,
            tool_calls: 0,
        },
    )
}

impl StreamEvents for MistralEvents {
    type Framing = SseDecoder;

    fn event(&mut self, event: SseEvent<'_>, writer: &mut ChatStreamWriter, out: &mut Vec<u8>) {
        if event.data.is_empty() {
            return;
        }
        if event.data == b"[DONE]" {
            if self.finished {
                writer.end(out);
            }
            return;
        }
        let chunk: StreamChunk<'_> = match serde_json::from_slice(event.data) {
            Ok(chunk) => chunk,
            Err(e) => {
                let error = ModuleError::bad_upstream(format!(
                    "upstream {PROVIDER} sent a stream event that is not a chat completion chunk: {e}"
                ));
                writer.error(out, &error);
                return;
            }
        };
        if let Some(message) = chunk.error_message() {
            let error = ModuleError::new(
                502,
                "server_error",
                format!("upstream {PROVIDER}: {message}"),
            );
            writer.error(out, &error);
            return;
        }
        if !self.identified {
            self.identified = true;
            writer.identify(&chunk.id, &chunk.model);
            if let Some(created) = chunk.created {
                writer.set_created(created);
            }
        }
        for choice in &chunk.choices {
            if let Some(text) = &choice.delta.content.text {
                writer.text(out, text);
            }
            for call in choice.delta.tool_calls.iter().flatten() {
                if let Err(error) = self.tool_call(call, writer, out) {
                    writer.error(out, &error);
                    return;
                }
            }
            if let Some(reason) = &choice.finish_reason {
                writer.finish(out, finish_reason(Some(reason)));
                self.finished = true;
            }
        }
        if let Some(usage) = &chunk.usage {
            writer.record_usage(usage.to_usage());
        }
    }

    fn complete(&self) -> bool {
        self.finished
    }

    fn early_end(&self) -> String {
        format!("upstream {PROVIDER} ended the stream before its finish_reason")
    }
}

impl MistralEvents {
    /// A call's first delta names it; later ones carry pieces of its arguments.
    fn tool_call(
        &mut self,
        call: &MistralToolCall<'_>,
        writer: &mut ChatStreamWriter,
        out: &mut Vec<u8>,
    ) -> Result<(), ModuleError> {
        let block = call.index.unwrap_or(self.tool_calls);
        if !call.function.name.is_empty() {
            let id = call.id_or(usize::try_from(self.tool_calls).unwrap_or(usize::MAX));
            self.tool_calls += 1;
            writer.tool_call_start(out, block, &id, &call.function.name);
        }
        if call.function.arguments.is_some() {
            writer.tool_call_arguments(out, block, &call.function.arguments())?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct StreamChunk<'a> {
    #[serde(default, borrow)]
    id: Cow<'a, str>,
    #[serde(default)]
    created: Option<u64>,
    #[serde(default, borrow)]
    model: Cow<'a, str>,
    #[serde(default, borrow)]
    choices: Vec<StreamChoice<'a>>,
    #[serde(default)]
    usage: Option<MistralUsage>,
    /// `error` in Mistral's error objects.
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    message: Option<String>,
    /// An OpenAI-style error envelope, from servers that send one.
    #[serde(default)]
    error: Option<ErrorObject>,
}

impl StreamChunk<'_> {
    fn error_message(&self) -> Option<String> {
        if let Some(error) = &self.error {
            return Some(
                error
                    .message
                    .clone()
                    .unwrap_or_else(|| "unknown error".to_owned()),
            );
        }
        (self.object.as_deref() == Some("error")).then(|| {
            self.message
                .clone()
                .unwrap_or_else(|| "unknown error".to_owned())
        })
    }
}

#[derive(Deserialize)]
struct ErrorObject {
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct StreamChoice<'a> {
    #[serde(default, borrow)]
    delta: Delta<'a>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct Delta<'a> {
    #[serde(default, borrow)]
    content: MistralContent<'a>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<MistralToolCall<'a>>>,
}
