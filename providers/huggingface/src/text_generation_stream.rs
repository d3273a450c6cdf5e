//! TGI's text generation stream as OpenAI's streamed `text_completion` chunks.
//!
//! | TGI event (`data:{…}`) | chunk |
//! |---|---|
//! | `token` with `special: false` | `choices[0].text` = the token's text |
//! | `token` with `special: true` (e.g. `</s>`) | nothing: TGI leaves special tokens out of `generated_text` too |
//! | `details` (the last event) | the finish chunk (reason mapped), and usage: `prompt_tokens = input_length`, `completion_tokens = generated_tokens` |
//! | `{"error": …, "error_type": …}` | an SSE error event in OpenAI's envelope; nothing after it |
//!
//! TGI sends no `[DONE]`: the stream ends after the `details` event, and the writer then adds the
//! usage chunk (when the client asked for it) and `[DONE]`. A stream that ends before `details`
//! was cut short, and ends with an error event. Kong forwards each token's text, special ones
//! included, and no finish reason or usage.

use std::borrow::Cow;

use abi_stable::std_types::ROption;
use provider_sdk::abi::{ModuleError, RequestPlan, ResponseMeta, Usage};
use provider_sdk::framing::SseDecoder;
use provider_sdk::openai::{ChatStreamWriter, MAX_EVENT_BYTES};
use provider_sdk::StreamTranslate;
use serde::Deserialize;

use crate::error;
use crate::finish_reason::from_tgi;
use crate::json_members::has_member;

const ERROR: &[u8] = b"\"error\"";

/// Translates one TGI text generation stream.
#[derive(Debug)]
pub struct TextGenerationStream {
    decoder: SseDecoder,
    writer: ChatStreamWriter,
    /// The `details` event arrived: the generation is complete.
    completed: bool,
}

impl TextGenerationStream {
    pub fn new(plan: &RequestPlan<'_>) -> TextGenerationStream {
        TextGenerationStream {
            decoder: SseDecoder::new(MAX_EVENT_BYTES),
            writer: ChatStreamWriter::new(plan),
            completed: false,
        }
    }
}

impl StreamTranslate for TextGenerationStream {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, ModuleError> {
        let mut out = Vec::with_capacity(chunk.len());
        let (writer, completed) = (&mut self.writer, &mut self.completed);
        self.decoder.push(chunk, |event| {
            translate_event(writer, completed, event.data, &mut out);
            Ok::<(), ModuleError>(())
        })?;
        Ok(out)
    }

    fn finish(&mut self) -> Result<Vec<u8>, ModuleError> {
        let mut out = Vec::new();
        let (writer, completed) = (&mut self.writer, &mut self.completed);
        self.decoder.finish(|event| {
            translate_event(writer, completed, event.data, &mut out);
            Ok::<(), ModuleError>(())
        })?;
        if *completed {
            writer.end(&mut out);
        } else {
            writer.error(
                &mut out,
                &ModuleError::bad_upstream(
                    "the huggingface stream ended before the generation finished",
                ),
            );
        }
        Ok(out)
    }

    fn meta(&self) -> ResponseMeta {
        self.writer.meta()
    }
}

fn translate_event(
    writer: &mut ChatStreamWriter,
    completed: &mut bool,
    data: &[u8],
    out: &mut Vec<u8>,
) {
    if writer.is_ended() || *completed || data == b"[DONE]" {
        return;
    }
    if has_member(data, ERROR, b"\"[{") {
        writer.error(out, &error::in_stream(data));
        return;
    }
    let event = match serde_json::from_slice::<StreamEvent<'_>>(data) {
        Ok(event) => event,
        Err(e) => {
            writer.error(
                out,
                &ModuleError::bad_upstream(format!(
                    "the huggingface stream sent an event that is not a text generation token: {e}"
                )),
            );
            return;
        }
    };
    if let Some(token) = event.token.filter(|token| !token.special) {
        writer.text(out, &token.text);
    }
    if let Some(details) = event.details {
        writer.finish(out, from_tgi(&details.finish_reason));
        writer.record_usage(Usage {
            prompt_tokens: details.input_length.into(),
            completion_tokens: details.generated_tokens.into(),
            total_tokens: ROption::RNone,
            cached_tokens: ROption::RNone,
        });
        *completed = true;
    }
}

#[derive(Deserialize)]
struct StreamEvent<'a> {
    #[serde(default, borrow)]
    token: Option<StreamToken<'a>>,
    #[serde(default, borrow)]
    details: Option<StreamDetails<'a>>,
}

#[derive(Deserialize)]
struct StreamToken<'a> {
    #[serde(borrow)]
    text: Cow<'a, str>,
    #[serde(default)]
    special: bool,
}

#[derive(Deserialize)]
struct StreamDetails<'a> {
    #[serde(borrow)]
    finish_reason: Cow<'a, str>,
    #[serde(default)]
    generated_tokens: Option<u64>,
    #[serde(default)]
    input_length: Option<u64>,
}
