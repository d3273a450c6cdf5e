//! Incremental decoders for streamed upstream bodies, and the encoders for what the gateway sends
//! on. Every decoder accepts its input split at any byte and bounds the memory it buffers.

pub mod aws_eventstream;
pub mod json_array;
pub mod ndjson;
pub mod sse;

pub use sse::{write_data_event, SseDecoder, SseEvent, DONE_EVENT};

use crate::abi::ModuleError;

/// Why a stream cannot be decoded any further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramingError {
    /// One event grew past the decoder's bound before it ended.
    EventTooLarge { limit: usize },
}

impl std::fmt::Display for FramingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FramingError::EventTooLarge { limit } => {
                write!(f, "upstream stream event exceeds {limit} bytes")
            }
        }
    }
}

impl std::error::Error for FramingError {}

impl From<FramingError> for ModuleError {
    fn from(error: FramingError) -> ModuleError {
        ModuleError::bad_upstream(error.to_string())
    }
}
