//! Ollama's NDJSON streams (`/api/chat`, `/api/generate`) as OpenAI's SSE stream.
//!
//! Every line is one reply object. Text arrives in `message.content` (chat) or `response`
//! (generate); tool calls arrive whole, in one line, and go out as the usual OpenAI start delta
//! plus one arguments fragment each. The last line has `done: true`, the counts and
//! `done_reason`. An `{"error": …}` line, or a line that is not a reply, ends the stream with an
//! SSE error event; so does an upstream that stops before its `done` line.

use super::response::{created, finish_reason, upstream_error, Reply};
use crate::abi::{ModuleError, RequestPlan, ResponseMeta};
use crate::export::StreamTranslate;
use crate::framing::ndjson::NdjsonDecoder;
use crate::openai::{ChatStreamWriter, MAX_EVENT_BYTES};

/// Translates one streamed Ollama response.
#[derive(Debug)]
pub struct OllamaStream {
    decoder: NdjsonDecoder,
    translation: Translation,
}

/// What the stream has said so far, beside the decoder so that both can be borrowed at once.
#[derive(Debug)]
struct Translation {
    provider: String,
    writer: ChatStreamWriter,
    identified: bool,
    tool_calls: usize,
}

impl OllamaStream {
    pub(super) fn new(provider: &str, plan: &RequestPlan<'_>) -> OllamaStream {
        OllamaStream {
            decoder: NdjsonDecoder::new(MAX_EVENT_BYTES),
            translation: Translation {
                provider: provider.to_owned(),
                writer: ChatStreamWriter::new(plan),
                identified: false,
                tool_calls: 0,
            },
        }
    }
}

impl StreamTranslate for OllamaStream {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, ModuleError> {
        let mut out = Vec::new();
        let OllamaStream {
            decoder,
            translation,
        } = self;
        if translation.writer.is_ended() {
            return Ok(out);
        }
        let decoded = decoder.push(chunk, |line| -> Result<(), ModuleError> {
            translation.line(line, &mut out);
            Ok(())
        });
        if let Err(error) = decoded {
            translation.writer.error(&mut out, &error);
        }
        Ok(out)
    }

    fn finish(&mut self) -> Result<Vec<u8>, ModuleError> {
        let mut out = Vec::new();
        let OllamaStream {
            decoder,
            translation,
        } = self;
        let decoded = decoder.finish(|line| -> Result<(), ModuleError> {
            translation.line(line, &mut out);
            Ok(())
        });
        if let Err(error) = decoded {
            translation.writer.error(&mut out, &error);
        }
        if !translation.writer.is_ended() {
            let error = ModuleError::bad_upstream(format!(
                "upstream {} ended the stream before its final (done) line",
                translation.provider
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
    /// Writes what one line says. Never fails: a bad line ends the stream with an error event.
    fn line(&mut self, line: &[u8], out: &mut Vec<u8>) {
        if self.writer.is_ended() {
            return;
        }
        let reply: Reply<'_> = match serde_json::from_slice(line) {
            Ok(reply) => reply,
            Err(e) => {
                let error = ModuleError::bad_upstream(format!(
                    "upstream {} sent a stream line that is not an Ollama reply: {e}",
                    self.provider
                ));
                self.writer.error(out, &error);
                return;
            }
        };
        if let Some(message) = &reply.error {
            self.writer
                .error(out, &upstream_error(&self.provider, message));
            return;
        }
        if !self.identified {
            self.identified = true;
            self.writer.identify("", &reply.model);
            self.writer.set_created(created(&reply.created_at));
        }
        if let Some(message) = &reply.message {
            self.writer.text(out, &message.content);
            for call in message.tool_calls.iter().flatten() {
                let call = call.to_openai(self.tool_calls);
                self.tool_calls += 1;
                self.writer
                    .tool_call(out, &call.id, &call.name, &call.arguments);
            }
        }
        if let Some(text) = &reply.response {
            self.writer.text(out, text);
        }
        if reply.done {
            self.writer.record_usage(reply.usage());
            let reason = finish_reason(reply.done_reason.as_deref(), self.tool_calls > 0);
            self.writer.finish(out, reason);
            self.writer.end(out);
        }
    }
}
