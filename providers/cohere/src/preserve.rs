//! `preserve` routes: the client speaks Cohere's own API, and the answers go back untouched. They
//! are only read for metering: usage and id from JSON bodies, and from the events of SSE streams
//! (v2 chat's `message-start` and `message-end`, v1 chat's `stream-start` and `stream-end` when
//! the client asked v1 for SSE).

use std::borrow::Cow;

use abi_stable::std_types::{RString, RVec};
use provider_sdk::abi::{ModuleError, ResponseMeta, Usage};
use provider_sdk::framing::SseDecoder;
use provider_sdk::openai::MAX_EVENT_BYTES;
use provider_sdk::StreamTranslate;

use crate::finish_reason::{translate_finish_reason, Ending};
use crate::usage::{v1_chat_usage, CohereUsage, LegacyTokenCount};

/// What a Cohere JSON answer says about itself; empty when it says nothing readable.
pub fn native_metadata(status: u16, body: &[u8]) -> ResponseMeta {
    if !(200..300).contains(&status) {
        return ResponseMeta::default();
    }
    provider_sdk::json_bytes::from_bytes::<NativeSkim<'_>>(body)
        .map(|skim| skim.meta())
        .unwrap_or_default()
}

/// Forwards a preserved stream byte for byte and meters it on the way.
pub struct MeteredStream {
    decoder: SseDecoder,
    meta: ResponseMeta,
    /// The events stopped being readable: metering stops, forwarding does not.
    unreadable: bool,
}

impl Default for MeteredStream {
    fn default() -> MeteredStream {
        MeteredStream {
            decoder: SseDecoder::new(MAX_EVENT_BYTES),
            meta: ResponseMeta::default(),
            unreadable: false,
        }
    }
}

impl MeteredStream {
    fn read(&mut self, chunk: Option<&[u8]>) {
        if self.unreadable {
            return;
        }
        let MeteredStream { decoder, meta, .. } = self;
        let mut on_event = |event: provider_sdk::framing::SseEvent<'_>| {
            if let Ok(skim) = provider_sdk::json_bytes::from_bytes::<NativeSkim<'_>>(event.data) {
                skim.record(meta);
            }
            Ok::<(), ModuleError>(())
        };
        let read = match chunk {
            Some(chunk) => decoder.push(chunk, &mut on_event),
            None => decoder.finish(&mut on_event),
        };
        self.unreadable = read.is_err();
    }
}

impl StreamTranslate for MeteredStream {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, ModuleError> {
        self.read(Some(chunk));
        Ok(chunk.to_vec())
    }

    fn finish(&mut self) -> Result<Vec<u8>, ModuleError> {
        self.read(None);
        Ok(Vec::new())
    }

    fn meta(&self) -> ResponseMeta {
        self.meta.clone()
    }
}

/// The members of Cohere's answers and stream events that metering reads.
#[derive(serde::Deserialize)]
struct NativeSkim<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    generation_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
    /// v2 chat.
    #[serde(default)]
    usage: Option<CohereUsage>,
    /// v1 chat, generate and embed.
    #[serde(default)]
    meta: Option<CohereUsage>,
    #[serde(default)]
    token_count: Option<LegacyTokenCount>,
    /// A v2 stream event's delta (`message-end` carries usage and finish reason there).
    #[serde(default, borrow)]
    delta: Option<Box<NativeSkim<'a>>>,
    /// A v1 `stream-end` event's whole reply.
    #[serde(default, borrow)]
    response: Option<Box<NativeSkim<'a>>>,
}

impl NativeSkim<'_> {
    fn usage(&self) -> Option<Usage> {
        match (&self.usage, &self.meta, &self.token_count) {
            (Some(usage), _, _) => Some(usage.to_usage()),
            (None, None, None) => None,
            (None, meta, legacy) => Some(v1_chat_usage(meta.as_ref(), legacy.as_ref())),
        }
    }

    fn meta(&self) -> ResponseMeta {
        let mut meta = ResponseMeta::default();
        self.record(&mut meta);
        meta
    }

    /// Adds what this answer or event says to `meta`.
    fn record(&self, meta: &mut ResponseMeta) {
        for part in [Some(self), self.delta.as_deref(), self.response.as_deref()]
            .into_iter()
            .flatten()
        {
            if meta.response_id.is_empty() {
                if let Some(id) = part.generation_id.as_deref().or(part.id.as_deref()) {
                    meta.response_id = RString::from(id);
                }
            }
            if let Some(usage) = part.usage() {
                meta.usage = usage;
            }
            if let Some(reason) = part.finish_reason.as_deref() {
                if let Ending::Finished(reason) = translate_finish_reason(reason) {
                    meta.finish_reasons = RVec::from(vec![RString::from(reason.as_str())]);
                }
            }
        }
    }
}
