//! TGI's streamed replies (`llama2_format: raw` with `stream: true`) as OpenAI's SSE stream.
//!
//! TGI sends one SSE event per token: `data: {"index", "token": {"text", "special"},
//! "generated_text", "details"}`. Special tokens (`</s>`, `<|eot_id|>`) are not text. The last
//! event carries `details` (`finish_reason`, `generated_tokens`, `input_length`), which give the
//! finish reason and both token counts. An `{"error": …}` event ends the stream with an SSE
//! error event, and so does a stream that stops before its `details`.

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan, ResponseMeta, RouteType, Usage};
use provider_sdk::framing::{SseDecoder, SseEvent};
use provider_sdk::openai::{ChatStreamWriter, MAX_EVENT_BYTES};
use provider_sdk::StreamTranslate;
use serde::Deserialize;

use crate::tgi::finish_reason;
use crate::PROVIDER;

#[derive(Debug)]
pub struct TgiStream {
    decoder: SseDecoder,
    translation: Translation,
}

#[derive(Debug)]
struct Translation {
    writer: ChatStreamWriter,
    /// A chat answer starts at its first visible character: Llama models open with a space or a
    /// newline after `[/INST]`, which the whole-response path trims too.
    trims_leading_space: bool,
}

impl TgiStream {
    pub fn new(plan: &RequestPlan<'_>) -> TgiStream {
        TgiStream {
            decoder: SseDecoder::new(MAX_EVENT_BYTES),
            translation: Translation {
                writer: ChatStreamWriter::new(plan),
                trims_leading_space: plan.route_type == RouteType::CHAT,
            },
        }
    }
}

impl StreamTranslate for TgiStream {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, ModuleError> {
        let mut out = Vec::new();
        let TgiStream {
            decoder,
            translation,
        } = self;
        if translation.writer.is_ended() {
            return Ok(out);
        }
        let decoded = decoder.push(chunk, |event| -> Result<(), ModuleError> {
            translation.event(event, &mut out);
            Ok(())
        });
        if let Err(error) = decoded {
            translation.writer.error(&mut out, &error);
        }
        Ok(out)
    }

    fn finish(&mut self) -> Result<Vec<u8>, ModuleError> {
        let mut out = Vec::new();
        let TgiStream {
            decoder,
            translation,
        } = self;
        let decoded = decoder.finish(|event| -> Result<(), ModuleError> {
            translation.event(event, &mut out);
            Ok(())
        });
        if let Err(error) = decoded {
            translation.writer.error(&mut out, &error);
        }
        if !translation.writer.is_ended() {
            let error = ModuleError::bad_upstream(format!(
                "upstream {PROVIDER} ended the stream before its final event (the one with details)"
            ));
            translation.writer.error(&mut out, &error);
        }
        Ok(out)
    }

    fn meta(&self) -> ResponseMeta {
        self.translation.writer.meta()
    }
}

impl Translation {
    /// Writes what one event says. Never fails: a bad event ends the stream with an error event.
    fn event(&mut self, event: SseEvent<'_>, out: &mut Vec<u8>) {
        if self.writer.is_ended() || event.data.is_empty() || event.data == b"[DONE]" {
            return;
        }
        let parsed: TgiEvent<'_> = match serde_json::from_slice(event.data) {
            Ok(parsed) => parsed,
            Err(e) => {
                let error = ModuleError::bad_upstream(format!(
                    "upstream {PROVIDER} sent a stream event that is not TGI's: {e}"
                ));
                self.writer.error(out, &error);
                return;
            }
        };
        if let Some(message) = parsed.error {
            let error = ModuleError::new(
                502,
                "server_error",
                format!("upstream {PROVIDER}: {message}"),
            );
            self.writer.error(out, &error);
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
            self.writer.text(out, text);
        }
        if let Some(details) = parsed.details {
            self.writer.record_usage(Usage {
                prompt_tokens: details.input_length.into(),
                completion_tokens: details.generated_tokens.into(),
                ..Usage::default()
            });
            self.writer
                .finish(out, finish_reason(details.finish_reason.as_deref()));
            self.writer.end(out);
        }
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
