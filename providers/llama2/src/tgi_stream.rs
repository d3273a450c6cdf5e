//! TGI's streamed replies (`llama2_format: raw` with `stream: true`) as OpenAI's SSE stream.
//!
//! TGI sends one SSE event per token: `data: {"index", "token": {"text", "special"},
//! "generated_text", "details"}`. Special tokens (`</s>`, `<|eot_id|>`) are not text. The last
//! event carries `details` (`finish_reason`, `generated_tokens`, `input_length`), which give the
//! finish reason and both token counts. An `{"error": …}` event ends the stream with an SSE
//! error event, and so does a stream that stops before its `details`.

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan, RouteType, Usage};
use provider_sdk::framed_stream::{FramedStream, StreamEvents};
use provider_sdk::framing::{SseDecoder, SseEvent};
use provider_sdk::openai::{ChatStreamWriter, MAX_EVENT_BYTES};
use serde::Deserialize;

use crate::tgi::finish_reason;
use crate::PROVIDER;

pub type TgiStream = FramedStream<TgiEvents>;

#[derive(Debug)]
pub struct TgiEvents {
    /// A chat answer starts at its first visible character: Llama models open with a space or a
    /// newline after `[/INST]`, which the whole-response path trims too.
    trims_leading_space: bool,
}

pub fn new_stream(plan: &RequestPlan<'_>) -> TgiStream {
    FramedStream::new(
        SseDecoder::new(MAX_EVENT_BYTES),
        ChatStreamWriter::new(plan),
        TgiEvents {
            trims_leading_space: plan.route_type == RouteType::CHAT,
        },
    )
}

impl StreamEvents for TgiEvents {
    type Framing = SseDecoder;

    fn event(&mut self, event: SseEvent<'_>, writer: &mut ChatStreamWriter, out: &mut Vec<u8>) {
        if event.data.is_empty() || event.data == b"[DONE]" {
            return;
        }
        let parsed: TgiEvent<'_> = match serde_json::from_slice(event.data) {
            Ok(parsed) => parsed,
            Err(e) => {
                let error = ModuleError::bad_upstream(format!(
                    "upstream {PROVIDER} sent a stream event that is not TGI's: {e}"
                ));
                writer.error(out, &error);
                return;
            }
        };
        if let Some(message) = parsed.error {
            let error = ModuleError::new(
                502,
                "server_error",
                format!("upstream {PROVIDER}: {message}"),
            );
            writer.error(out, &error);
            return;
        }
        if let Some(token) = parsed.token.filter(|token| !token.special) {
            let text = if self.trims_leading_space {
                token.text.trim_start()
            } else {
                &token.text
            };
            if !text.is_empty() {
                self.trims_leading_space = false;
            }
            writer.text(out, text);
        }
        if let Some(details) = parsed.details {
            writer.record_usage(Usage {
                prompt_tokens: details.input_length.into(),
                completion_tokens: details.generated_tokens.into(),
                ..Usage::default()
            });
            writer.finish(out, finish_reason(details.finish_reason.as_deref()));
            writer.end(out);
        }
    }

    fn early_end(&self) -> String {
        format!(
            "upstream {PROVIDER} ended the stream before its final event (the one with details)"
        )
    }
}

#[derive(Deserialize)]
struct TgiEvent<'a> {
    #[serde(default, borrow)]
    token: Option<Token<'a>>,
    #[serde(default)]
    details: Option<StreamDetails>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Token<'a> {
    #[serde(borrow)]
    text: Cow<'a, str>,
    #[serde(default)]
    special: bool,
}

#[derive(Deserialize)]
struct StreamDetails {
    #[serde(default)]
    finish_reason: Option<String>,
    #[serde(default)]
    generated_tokens: Option<u64>,
    #[serde(default)]
    input_length: Option<u64>,
}
