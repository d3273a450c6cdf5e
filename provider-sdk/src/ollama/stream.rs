//! Ollama's NDJSON streams (`/api/chat`, `/api/generate`) as OpenAI's SSE stream.
//!
//! Every line is one reply object. Text arrives in `message.content` (chat) or `response`
//! (generate); tool calls arrive whole, in one line, and go out as the usual OpenAI start delta
//! plus one arguments fragment each. The last line has `done: true`, the counts and
//! `done_reason`. An `{"error": …}` line, or a line that is not a reply, ends the stream with an
//! SSE error event; so does an upstream that stops before its `done` line.

use super::response::{created, finish_reason, upstream_error, Reply};
use crate::abi::{ModuleError, RequestPlan};
use crate::framed_stream::{FramedStream, StreamEvents};
use crate::framing::ndjson::NdjsonDecoder;
use crate::json_bytes::from_bytes;
use crate::openai::{ChatStreamWriter, MAX_EVENT_BYTES};

/// Translates one streamed Ollama response.
pub type OllamaStream = FramedStream<OllamaReplies>;

/// What the stream has said so far.
#[derive(Debug)]
pub struct OllamaReplies {
    provider: String,
    identified: bool,
    tool_calls: usize,
}

pub(super) fn new_stream(provider: &str, plan: &RequestPlan<'_>) -> OllamaStream {
    FramedStream::new(
        NdjsonDecoder::new(MAX_EVENT_BYTES),
        ChatStreamWriter::new(plan),
        OllamaReplies {
            provider: provider.to_owned(),
            identified: false,
            tool_calls: 0,
        },
    )
}

impl StreamEvents for OllamaReplies {
    type Framing = NdjsonDecoder;

    fn event(&mut self, line: &[u8], writer: &mut ChatStreamWriter, out: &mut Vec<u8>) {
        let reply: Reply<'_> = match from_bytes(line) {
            Ok(reply) => reply,
            Err(e) => {
                let error = ModuleError::bad_upstream(format!(
                    "upstream {} sent a stream line that is not an Ollama reply: {e}",
                    self.provider
                ));
                writer.error(out, &error);
                return;
            }
        };
        if let Some(message) = &reply.error {
            writer.error(out, &upstream_error(&self.provider, message));
            return;
        }
        if !self.identified {
            self.identified = true;
            writer.identify("", &reply.model);
            writer.set_created(created(&reply.created_at));
        }
        if let Some(message) = &reply.message {
            writer.text(out, &message.content);
            for call in message.tool_calls.iter().flatten() {
                let call = call.to_openai(self.tool_calls);
                self.tool_calls += 1;
                writer.tool_call(out, &call.id, &call.name, &call.arguments);
            }
        }
        if let Some(text) = &reply.response {
            writer.text(out, text);
        }
        if reply.done {
            writer.record_usage(reply.usage());
            let reason = finish_reason(reply.done_reason.as_deref(), self.tool_calls > 0);
            writer.finish(out, reason);
            writer.end(out);
        }
    }

    fn early_end(&self) -> String {
        format!(
            "upstream {} ended the stream before its final (done) line",
            self.provider
        )
    }
}
