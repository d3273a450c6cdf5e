//! Anthropic's streams as OpenAI's: the Messages API's named SSE events on a chat route, the
//! legacy `completion` events on a completions route, and on a `preserve` route the client's own
//! Anthropic stream forwarded byte for byte and only metered.
//!
//! | Anthropic event | OpenAI stream |
//! |---|---|
//! | `message_start` | the role chunk; id, model and prompt usage taken |
//! | `content_block_start` text | its text, if any |
//! | `content_block_start` tool_use | a tool call's first delta, numbered 0, 1, … in call order |
//! | `content_block_delta` text_delta | a content delta |
//! | `content_block_delta` input_json_delta | an arguments fragment of that block's call (Kong sends `""`, losing streamed tool calls) |
//! | `content_block_stop` of a call that streamed no arguments | `{}`, as in a whole response |
//! | `message_delta` | the finish chunk with the mapped reason (Kong never sends one); usage replaced by its running totals (Kong adds them to the start's) |
//! | `message_stop` | the usage chunk if the client asked for it, then `[DONE]` |
//! | `error` | an SSE error event in OpenAI's envelope, then nothing |
//! | `ping`, thinking, citations, server tool blocks, anything unknown | nothing |
//!
//! A stream that ends without a stop reason was cut off: the client gets an error event rather
//! than a `[DONE]` that would pass the truncated answer off as complete.

use provider_sdk::abi::{ModuleError, RequestPlan, ResponseMeta, RouteType};
use provider_sdk::framing::{SseDecoder, SseEvent};
use provider_sdk::json_bytes::from_bytes;
use provider_sdk::openai::{ChatStreamWriter, MAX_EVENT_BYTES};
use provider_sdk::StreamTranslate;

use crate::stop_reason::finish_reason;
use crate::stream_event::{plain_text_delta, StreamEvent};
use crate::usage::AnthropicUsage;

/// The events a `preserve` stream is read for: the ones that carry id, model, usage or the stop
/// reason. The others are forwarded without being parsed.
const METERED_EVENTS: [&[u8]; 3] = [b"message_start", b"message_delta", b"completion"];

pub struct AnthropicStream {
    decoder: SseDecoder,
    state: StreamState,
    /// `preserve`: the upstream's bytes go to the client unchanged.
    verbatim: bool,
    /// Output produced before a failure, handed over by the `finish` the gateway calls next.
    pending: Vec<u8>,
    /// The stream failed (translated) or can no longer be metered (verbatim).
    failed: bool,
}

impl AnthropicStream {
    pub fn new(plan: &RequestPlan<'_>) -> AnthropicStream {
        AnthropicStream {
            decoder: SseDecoder::new(MAX_EVENT_BYTES),
            state: StreamState {
                writer: ChatStreamWriter::new(plan),
                usage: AnthropicUsage::default(),
                tool_blocks: Vec::new(),
                stop_reason_seen: false,
            },
            verbatim: plan.route_type == RouteType::PRESERVE,
            pending: Vec::new(),
            failed: false,
        }
    }

    /// Reads `chunk` (or, without one, the end of the stream) for metering only. A stream that
    /// cannot be decoded is still forwarded; it is just no longer metered.
    fn meter(&mut self, chunk: Option<&[u8]>) {
        if self.failed {
            return;
        }
        let AnthropicStream { decoder, state, .. } = self;
        let mut discarded = Vec::new();
        let mut on_event = |event: SseEvent<'_>| {
            let metered = event.event.is_empty() || METERED_EVENTS.contains(&event.event);
            if metered {
                state.on_event(event.data, &mut discarded)?;
            }
            discarded.clear();
            Ok::<(), ModuleError>(())
        };
        let result = match chunk {
            Some(chunk) => decoder.push(chunk, &mut on_event),
            None => decoder.finish(&mut on_event),
        };
        self.failed = result.is_err();
    }

    /// Keeps what was written before a failure for the gateway's next `finish` call, which
    /// precedes the error event it sends.
    fn fail(&mut self, out: Vec<u8>, error: ModuleError) -> Result<Vec<u8>, ModuleError> {
        self.pending = out;
        self.failed = true;
        Err(error)
    }
}

impl StreamTranslate for AnthropicStream {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, ModuleError> {
        if self.verbatim {
            self.meter(Some(chunk));
            return Ok(chunk.to_vec());
        }
        let mut out = std::mem::take(&mut self.pending);
        if self.failed {
            return Ok(out);
        }
        let AnthropicStream { decoder, state, .. } = self;
        let result = decoder.push(chunk, |event: SseEvent<'_>| {
            state.on_event(event.data, &mut out)
        });
        match result {
            Ok(()) => Ok(out),
            Err(error) => self.fail(out, error),
        }
    }

    fn finish(&mut self) -> Result<Vec<u8>, ModuleError> {
        if self.verbatim {
            self.meter(None);
            return Ok(Vec::new());
        }
        let mut out = std::mem::take(&mut self.pending);
        if self.failed {
            return Ok(out);
        }
        let AnthropicStream { decoder, state, .. } = self;
        if let Err(error) =
            decoder.finish(|event: SseEvent<'_>| state.on_event(event.data, &mut out))
        {
            return self.fail(out, error);
        }
        let writer = &mut self.state.writer;
        if !writer.is_ended() {
            if !self.state.stop_reason_seen {
                return self.fail(
                    out,
                    ModuleError::bad_upstream(
                        "the anthropic stream ended before the model's stop reason",
                    ),
                );
            }
            writer.end(&mut out);
        }
        Ok(out)
    }

    fn meta(&self) -> ResponseMeta {
        self.state.writer.meta()
    }
}

/// What the translation keeps between events.
struct StreamState {
    writer: ChatStreamWriter,
    /// The running totals so far.
    usage: AnthropicUsage,
    /// The client tool calls begun so far, by content block.
    tool_blocks: Vec<ToolBlock>,
    stop_reason_seen: bool,
}

struct ToolBlock {
    index: u64,
    /// Whether a non-empty arguments fragment was written.
    has_arguments: bool,
}

impl StreamState {
    fn on_event(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), ModuleError> {
        if let Some(text) = plain_text_delta(data) {
            self.writer.text(out, text);
            return Ok(());
        }
        let event: StreamEvent<'_> = from_bytes(data).map_err(|e| {
            ModuleError::bad_upstream(format!(
                "anthropic sent a stream event that is not valid: {e}"
            ))
        })?;
        self.on_parsed_event(&event, out)
    }

    fn on_parsed_event(
        &mut self,
        event: &StreamEvent<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), ModuleError> {
        match event.kind.as_ref() {
            "message_start" => {
                if let Some(message) = &event.message {
                    self.writer.identify(&message.id, &message.model);
                    if let Some(usage) = &message.usage {
                        self.record_usage(usage);
                    }
                }
                self.writer.start(out);
            }
            "content_block_start" => {
                let (Some(index), Some(block)) = (event.index, &event.content_block) else {
                    return Ok(());
                };
                if block.is_text() {
                    self.writer.text(out, &block.text);
                } else if block.is_tool_use() {
                    // The block's `input` is always `{}` here: the arguments follow as
                    // `input_json_delta` fragments.
                    self.tool_blocks.push(ToolBlock {
                        index,
                        has_arguments: false,
                    });
                    self.writer
                        .tool_call_start(out, index, &block.id, &block.name);
                }
            }
            "content_block_delta" => {
                let (Some(index), Some(delta)) = (event.index, &event.delta) else {
                    return Ok(());
                };
                match delta.kind.as_ref() {
                    "text_delta" => self.writer.text(out, &delta.text),
                    // Server tools stream their input too; only the client's calls are its
                    // business.
                    "input_json_delta" if !delta.partial_json.is_empty() => {
                        if let Some(tool) = self.tool_block(index) {
                            tool.has_arguments = true;
                            self.writer
                                .tool_call_arguments(out, index, &delta.partial_json)?;
                        }
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                let Some(index) = event.index else {
                    return Ok(());
                };
                if let Some(tool) = self.tool_block(index) {
                    if !tool.has_arguments {
                        tool.has_arguments = true;
                        self.writer.tool_call_arguments(out, index, "{}")?;
                    }
                }
            }
            "message_delta" => {
                if let Some(usage) = &event.usage {
                    self.record_usage(usage);
                }
                if let Some(reason) = event.delta.as_ref().and_then(|d| d.stop_reason.as_deref()) {
                    self.stop_reason_seen = true;
                    self.writer.finish(out, finish_reason(Some(reason)));
                }
            }
            "message_stop" => {
                // A message that stops without a stated reason ended normally.
                self.stop_reason_seen = true;
                self.writer.finish(out, finish_reason(None));
                self.writer.end(out);
            }
            "completion" => {
                self.writer.identify(&event.id, &event.model);
                self.writer.text(out, &event.completion);
                if let Some(reason) = event.stop_reason.as_deref() {
                    self.stop_reason_seen = true;
                    self.writer.finish(out, finish_reason(Some(reason)));
                }
            }
            "error" => {
                let error = event.error.as_ref().map_or_else(
                    || {
                        ModuleError::bad_upstream(
                            "upstream anthropic reported an error in the stream",
                        )
                    },
                    |error| error.to_module_error(),
                );
                self.writer.error(out, &error);
            }
            _ => {}
        }
        Ok(())
    }

    fn record_usage(&mut self, reported: &AnthropicUsage) {
        self.usage.update(reported);
        self.writer.record_usage(self.usage.to_usage());
    }

    fn tool_block(&mut self, index: u64) -> Option<&mut ToolBlock> {
        self.tool_blocks
            .iter_mut()
            .rfind(|tool| tool.index == index)
    }
}

#[cfg(test)]
mod tests {
    use abi_stable::std_types::{RSlice, RStr};

    use super::*;

    fn state() -> StreamState {
        let plan = RequestPlan {
            route_type: RouteType::CHAT,
            model: RStr::from_str("claude-x"),
            options: RStr::from_str("{}"),
            stream: true,
            client_wants_usage: false,
            client_method: RStr::from_str("POST"),
            client_path: RStr::from_str("/chat"),
            client_query: RStr::from_str(""),
            client_headers: RSlice::from_slice(&[]),
        };
        let mut writer = ChatStreamWriter::new(&plan);
        writer.identify("msg_1", "claude-x");
        writer.set_created(1_700_000_000);
        StreamState {
            writer,
            usage: AnthropicUsage::default(),
            tool_blocks: Vec::new(),
            stop_reason_seen: false,
        }
    }

    #[test]
    fn text_deltas_read_without_a_parse_write_what_the_parse_would() {
        let texts = [
            "",
            " two",
            "wörld ✓ 😀",
            "{\\\"a\\\"}",
            &"long ".repeat(300),
        ];
        for text in texts {
            let data = format!(
                r#"{{"type":"content_block_delta","index":3,"delta":{{"type":"text_delta","text":"{text}"}}}}"#
            );
            let (mut fast, mut parsed) = (state(), state());
            let (mut fast_out, mut parsed_out) = (Vec::new(), Vec::new());
            fast.on_event(data.as_bytes(), &mut fast_out).unwrap();
            let event: StreamEvent<'_> = serde_json::from_slice(data.as_bytes()).unwrap();
            parsed.on_parsed_event(&event, &mut parsed_out).unwrap();
            assert_eq!(
                String::from_utf8(fast_out).unwrap(),
                String::from_utf8(parsed_out).unwrap(),
                "{text}"
            );
        }
    }
}
