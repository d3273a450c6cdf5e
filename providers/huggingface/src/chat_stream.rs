//! TGI's chat stream relayed to the client event by event, as TGI wrote each chunk but for:
//!
//! - `finish_reason`, mapped to OpenAI's (`eos_token` → `stop`; `tool_calls` when the answer
//!   streamed tool calls, which TGI ends with the reason its JSON generation ended);
//! - the usage chunk (`choices: []`) the gateway asks for with `stream_options.include_usage`,
//!   dropped unless the client asked for it too, and metered either way;
//! - an error event (`data: {"error": "…", "error_type": "…"}`), written in OpenAI's envelope,
//!   after which nothing is sent;
//! - the end: a stream that stops after its finish chunk but without `[DONE]` (TGI before 2.0)
//!   gets one; a stream that stops before its finish chunk ends with an error event.
//!
//! TGI streams tool calls as OpenAI's `delta.tool_calls` with their `index`, which pass through.
//! Chunks are parsed only when they can say something metered: until the model is known, and
//! when they carry usage.

use std::borrow::Cow;

use abi_stable::std_types::RString;
use provider_sdk::abi::{ModuleError, RequestPlan, ResponseMeta, Usage};
use provider_sdk::framing::{write_data_event, SseDecoder, DONE_EVENT};
use provider_sdk::openai::MAX_EVENT_BYTES;
use provider_sdk::StreamTranslate;
use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::chat::{TgiUsage, FINISH_REASON, TOOL_CALLS};
use crate::error;
use crate::finish_reason::for_chat;
use crate::json_members::{replace_string_values, which_members, Member};

/// The members each chunk is scanned for: an error, tool calls, usage and a finish reason.
const WATCHED: [Member; 4] = [
    Member {
        quoted_key: b"\"error\"",
        value_starts_with: b"\"[{",
    },
    Member {
        quoted_key: TOOL_CALLS,
        value_starts_with: b"[",
    },
    Member {
        quoted_key: b"\"usage\"",
        value_starts_with: b"{",
    },
    Member {
        quoted_key: FINISH_REASON,
        value_starts_with: b"\"",
    },
];

/// Relays one TGI chat stream.
#[derive(Debug)]
pub struct ChatRelay {
    decoder: SseDecoder,
    state: RelayState,
}

#[derive(Debug, Default)]
struct RelayState {
    client_wants_usage: bool,
    calls_tools: bool,
    /// `[DONE]` or an error event was written: the rest of the upstream stream is ignored.
    ended: bool,
    id: String,
    model: String,
    usage: Usage,
    finish_reasons: Vec<RString>,
}

impl ChatRelay {
    pub fn new(plan: &RequestPlan<'_>) -> ChatRelay {
        ChatRelay {
            decoder: SseDecoder::new(MAX_EVENT_BYTES),
            state: RelayState {
                client_wants_usage: plan.client_wants_usage,
                ..RelayState::default()
            },
        }
    }
}

impl StreamTranslate for ChatRelay {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, ModuleError> {
        let mut out = Vec::with_capacity(chunk.len() + 16);
        let state = &mut self.state;
        self.decoder.push(chunk, |event| {
            state.relay(event.data, &mut out);
            Ok::<(), ModuleError>(())
        })?;
        Ok(out)
    }

    fn finish(&mut self) -> Result<Vec<u8>, ModuleError> {
        let mut out = Vec::new();
        let state = &mut self.state;
        self.decoder.finish(|event| {
            state.relay(event.data, &mut out);
            Ok::<(), ModuleError>(())
        })?;
        state.end(&mut out);
        Ok(out)
    }

    fn meta(&self) -> ResponseMeta {
        let state = &self.state;
        ResponseMeta {
            usage: state.usage,
            response_model: state.model.as_str().into(),
            response_id: state.id.as_str().into(),
            finish_reasons: state.finish_reasons.iter().cloned().collect(),
        }
    }
}

impl RelayState {
    fn relay(&mut self, data: &[u8], out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        if data == b"[DONE]" {
            out.extend_from_slice(DONE_EVENT);
            self.ended = true;
            return;
        }
        let [is_error, calls_tools, reports_usage, finishes] = which_members(data, &WATCHED);
        if is_error {
            self.fail(out, &error::in_stream(data));
            return;
        }
        self.calls_tools |= calls_tools;
        if (self.model.is_empty() || reports_usage) && self.record(data) && !self.client_wants_usage
        {
            return;
        }
        if !finishes {
            write_data_event(out, data);
            return;
        }
        let calls_tools = self.calls_tools;
        let finish_reasons = &mut self.finish_reasons;
        let mapped = replace_string_values(data, FINISH_REASON, |tgi| {
            let reason = for_chat(tgi, calls_tools).as_str();
            finish_reasons.push(RString::from(reason));
            Some(reason)
        });
        write_data_event(out, mapped.as_deref().unwrap_or(data));
    }

    /// Takes the id, model and usage of a chunk; returns whether it is the usage-only chunk.
    /// A chunk that is not JSON is forwarded unmetered, for the client to judge.
    fn record(&mut self, data: &[u8]) -> bool {
        let Ok(chunk) = provider_sdk::json_bytes::from_bytes::<ChunkSkim<'_>>(data) else {
            return false;
        };
        if self.id.is_empty() {
            self.id.push_str(chunk.id.as_deref().unwrap_or_default());
        }
        if self.model.is_empty() {
            self.model
                .push_str(chunk.model.as_deref().unwrap_or_default());
        }
        match chunk.usage {
            Some(usage) => {
                self.usage = usage.to_usage();
                chunk.choices.is_some_and(|choices| choices.is_empty())
            }
            None => false,
        }
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        if self.finish_reasons.is_empty() {
            self.fail(
                out,
                &ModuleError::bad_upstream(
                    "the huggingface stream ended before the answer finished",
                ),
            );
        } else {
            out.extend_from_slice(DONE_EVENT);
            self.ended = true;
        }
    }

    fn fail(&mut self, out: &mut Vec<u8>, error: &ModuleError) {
        write_data_event(out, &error.to_envelope());
        self.ended = true;
    }
}

#[derive(Deserialize)]
struct ChunkSkim<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    choices: Option<Vec<IgnoredAny>>,
    #[serde(default)]
    usage: Option<TgiUsage>,
}
