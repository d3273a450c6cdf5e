//! Cohere's `POST /v1/generate`, the completions route: request, JSON response and NDJSON
//! stream.

mod request;
mod response;
mod stream;

pub use request::translate_request;
pub use response::translate_response;
pub use stream::GenerateEvents;
