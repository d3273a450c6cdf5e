//! Cohere's chat API v1 (`POST /v1/chat`), chosen with `model.options.cohere.api_version: v1`:
//! request, JSON response and NDJSON stream. Text chat and tools; v1's connectors, documents
//! and search are not reachable from an OpenAI request.

mod request;
mod response;
mod stream;
mod tools;

pub use request::translate_request;
pub use response::{translate_response, NO_REPLY};
pub use stream::V1ChatEvents;
