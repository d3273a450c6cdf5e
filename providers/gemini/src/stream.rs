//! Streamed answers: Gemini's `streamGenerateContent` as OpenAI chunks.
//!
//! Each event (with `alt=sse`) or array element (without it) is a whole
//! `GenerateContentResponse` holding the next piece of the candidate. The upstream's
//! `Content-Type` picks the decoder: `text/event-stream` is SSE, anything else the streamed JSON
//! array. Every chunk written carries `id`, `object`, `model` and `created` (Kong's Gemini chunks
//! have none of them); see `provider_sdk::openai::ChatStreamWriter` for the rest of the shape.
//!
//! - Text parts → `delta.content`; thought parts are left out, as in whole responses.
//! - A `functionCall` part → one streamed tool call (Gemini sends each call whole), numbered from
//!   0 in `tool_calls[].index`.
//! - `finishReason` → the finish chunk ([`crate::finish_reason`]), written when the
//!   stream ends: Gemini may repeat `STOP` on every chunk (Kong's fixtures show it), and a finish
//!   chunk must come after the last delta. The last reason given counts; a blocked prompt is
//!   `content_filter`.
//! - `usageMetadata` is cumulative: each one replaces the last, never added up. The usage chunk
//!   goes to the client only when it asked (`stream_options.include_usage`); the gateway's meta
//!   always has it.
//! - An `error` element or event from Google → an SSE error event in OpenAI's envelope, and the
//!   stream ends there, cleanly.
//! - A stream that breaks off (a JSON array never closed) or cannot be decoded is an error the
//!   gateway reports as an SSE error event.
//!
//! `preserve` streams go to the client byte for byte; they are decoded only to meter them.

use provider_sdk::abi::{HeaderRef, ModuleError, RequestPlan, ResponseMeta};
use provider_sdk::finish_reason::FinishReason;
use provider_sdk::framing::json_array::{JsonArrayDecoder, JsonArrayError, JsonArrayEvent};
use provider_sdk::framing::SseDecoder;
use provider_sdk::openai::{ChatStreamWriter, MAX_EVENT_BYTES};
use provider_sdk::StreamTranslate;

use crate::finish_reason::finish_reason;
use crate::response::GenerateContentResponse;
use crate::usage::usage;

/// The two ways Google frames a stream.
enum Decoder {
    Sse(SseDecoder),
    JsonArray(JsonArrayDecoder),
}

impl Decoder {
    fn for_headers(headers: &[HeaderRef<'_>]) -> Decoder {
        let is_sse = headers.iter().any(|header| {
            header.name.as_str().eq_ignore_ascii_case("content-type")
                && header
                    .value
                    .as_str()
                    .trim_start()
                    .get(..17)
                    .is_some_and(|essence| essence.eq_ignore_ascii_case("text/event-stream"))
        });
        if is_sse {
            Decoder::Sse(SseDecoder::new(MAX_EVENT_BYTES))
        } else {
            Decoder::JsonArray(JsonArrayDecoder::new(MAX_EVENT_BYTES))
        }
    }

    /// Calls `on_response` with the JSON of every response `chunk` completes.
    fn push(
        &mut self,
        chunk: &[u8],
        mut on_response: impl FnMut(&[u8]) -> Result<(), ModuleError>,
    ) -> Result<(), ModuleError> {
        match self {
            Decoder::Sse(decoder) => {
                decoder.push(chunk, |event| on_event(event.data, &mut on_response))
            }
            Decoder::JsonArray(decoder) => decoder.push(chunk, |event| match event {
                JsonArrayEvent::Element(element) => on_response(element),
                JsonArrayEvent::Closed => Ok(()),
            }),
        }
    }

    /// The body ended: the last responses, or an error when the stream was cut short.
    fn finish(
        &mut self,
        mut on_response: impl FnMut(&[u8]) -> Result<(), ModuleError>,
    ) -> Result<(), ModuleError> {
        match self {
            Decoder::Sse(decoder) => decoder.finish(|event| on_event(event.data, &mut on_response)),
            Decoder::JsonArray(decoder) => decoder.finish().map_err(ModuleError::from),
        }
    }
}

/// An SSE event's data; Google sends no `[DONE]`, but a relay in between might.
fn on_event(
    data: &[u8],
    on_response: &mut impl FnMut(&[u8]) -> Result<(), ModuleError>,
) -> Result<(), ModuleError> {
    if data == b"[DONE]" {
        return Ok(());
    }
    on_response(data)
}

/// Translates a chat or completions stream.
pub struct GeminiStream {
    decoder: Decoder,
    chunks: ChunkMapper,
    /// The stream failed; the gateway reports the error, nothing more is written.
    failed: bool,
}

/// Turns each response into chunks.
struct ChunkMapper {
    writer: ChatStreamWriter,
    called_tools: bool,
    /// The last finish reason Gemini gave, before tool calls are taken into account.
    finish_reason: Option<FinishReason>,
}

impl GeminiStream {
    pub fn new(plan: &RequestPlan<'_>, headers: &[HeaderRef<'_>]) -> GeminiStream {
        GeminiStream {
            decoder: Decoder::for_headers(headers),
            chunks: ChunkMapper {
                writer: ChatStreamWriter::new(plan),
                called_tools: false,
                finish_reason: None,
            },
            failed: false,
        }
    }

    fn run(
        &mut self,
        step: impl FnOnce(&mut Decoder, &mut ChunkMapper, &mut Vec<u8>) -> Result<(), ModuleError>,
    ) -> Result<Vec<u8>, ModuleError> {
        if self.failed {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        match step(&mut self.decoder, &mut self.chunks, &mut out) {
            Ok(()) => Ok(out),
            Err(error) => {
                self.failed = true;
                Err(error)
            }
        }
    }
}

impl StreamTranslate for GeminiStream {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, ModuleError> {
        self.run(|decoder, chunks, out| {
            let decoded = decoder.push(chunk, |response| chunks.map(response, out));
            // After Google's own error event, whatever follows is not the client's concern.
            if chunks.writer.is_ended() {
                return Ok(());
            }
            decoded
        })
    }

    fn finish(&mut self) -> Result<Vec<u8>, ModuleError> {
        self.run(|decoder, chunks, out| {
            let decoded = decoder.finish(|response| chunks.map(response, out));
            if chunks.writer.is_ended() {
                return Ok(());
            }
            decoded?;
            chunks.end(out);
            Ok(())
        })
    }

    fn meta(&self) -> ResponseMeta {
        self.chunks.writer.meta()
    }
}

impl ChunkMapper {
    fn map(&mut self, json: &[u8], out: &mut Vec<u8>) -> Result<(), ModuleError> {
        let writer = &mut self.writer;
        if writer.is_ended() {
            return Ok(());
        }
        let response = GenerateContentResponse::parse(json).map_err(|e| {
            ModuleError::bad_upstream(format!(
                "upstream gemini stream sent a response that cannot be read: {e}"
            ))
        })?;
        if let Some(error) = &response.error {
            writer.error(out, &error.to_module_error(500));
            return Ok(());
        }
        writer.identify(&response.response_id, &response.model_version);
        // One choice is streamed (`n` > 1 is refused with a stream), so only the first
        // candidate is read.
        for candidate in response.candidates.iter().filter(|c| c.index == 0) {
            let parts = candidate
                .content
                .as_ref()
                .map_or(&[][..], |content| content.parts.as_slice());
            for part in parts {
                match part.tool_call() {
                    Some(call) => {
                        self.called_tools = true;
                        writer.tool_call(out, &call.id, &call.name, &call.arguments);
                    }
                    None => writer.text(out, part.answer_text()),
                }
            }
            if !candidate.finish_reason.is_empty() {
                self.finish_reason = Some(finish_reason(&candidate.finish_reason, false));
            }
        }
        if response.prompt_blocked() {
            self.finish_reason = Some(FinishReason::ContentFilter);
        }
        if let Some(metadata) = &response.usage_metadata {
            writer.record_usage(usage(Some(metadata)));
        }
        Ok(())
    }

    /// The finish chunk, the usage chunk if asked for, and `[DONE]`.
    fn end(&mut self, out: &mut Vec<u8>) {
        let reason = match self.finish_reason {
            Some(FinishReason::Stop) if self.called_tools => Some(FinishReason::ToolCalls),
            other => other,
        };
        if let Some(reason) = reason {
            self.writer.finish(out, reason);
        }
        self.writer.end(out);
    }
}

/// Meters a `preserve` stream and forwards it unchanged.
pub struct NativeStream {
    decoder: Decoder,
    meta: ResponseMeta,
    /// The stream could not be decoded any further; it still goes to the client.
    undecodable: bool,
}

impl NativeStream {
    pub fn new(headers: &[HeaderRef<'_>]) -> NativeStream {
        NativeStream {
            decoder: Decoder::for_headers(headers),
            meta: ResponseMeta::default(),
            undecodable: false,
        }
    }
}

impl StreamTranslate for NativeStream {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, ModuleError> {
        if !self.undecodable {
            let meta = &mut self.meta;
            let decoded = self.decoder.push(chunk, |json| {
                meter(meta, json);
                Ok(())
            });
            self.undecodable = decoded.is_err();
        }
        Ok(chunk.to_vec())
    }

    fn finish(&mut self) -> Result<Vec<u8>, ModuleError> {
        if !self.undecodable {
            let meta = &mut self.meta;
            // A native stream's framing is the client's business: only metering is lost.
            let _ = self.decoder.finish(|json| {
                meter(meta, json);
                Ok(())
            });
        }
        Ok(Vec::new())
    }

    fn meta(&self) -> ResponseMeta {
        self.meta.clone()
    }
}

/// Takes what one response says about usage, model, id and finish into `meta`.
pub fn meter(meta: &mut ResponseMeta, json: &[u8]) {
    let Ok(response) = GenerateContentResponse::parse(json) else {
        return;
    };
    if let Some(metadata) = &response.usage_metadata {
        meta.usage = usage(Some(metadata));
    }
    if !response.model_version.is_empty() {
        meta.response_model = response.model_version.as_ref().into();
    }
    if !response.response_id.is_empty() {
        meta.response_id = response.response_id.as_ref().into();
    }
    for candidate in &response.candidates {
        if !candidate.finish_reason.is_empty() {
            let called_tools = candidate.content.as_ref().is_some_and(|content| {
                content
                    .parts
                    .iter()
                    .any(|part| part.function_call.is_some())
            });
            let reason = finish_reason(&candidate.finish_reason, called_tools);
            meta.finish_reasons.push(reason.as_str().into());
        }
    }
}

/// What a whole `preserve` answer says: one response, or the JSON array `streamGenerateContent`
/// answers without `alt=sse`. A body that says nothing reads as empty.
pub fn native_meta(body: &[u8]) -> ResponseMeta {
    let mut meta = ResponseMeta::default();
    let is_array = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'[');
    if is_array {
        let mut decoder = JsonArrayDecoder::new(body.len());
        let _ = decoder.push(body, |event| {
            if let JsonArrayEvent::Element(json) = event {
                meter(&mut meta, json);
            }
            Ok::<(), JsonArrayError>(())
        });
    } else {
        meter(&mut meta, body);
    }
    meta
}
