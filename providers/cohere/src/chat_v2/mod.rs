//! Cohere's chat API v2 (`POST /v2/chat`), the default: request, JSON response and SSE stream.

mod request;
mod response;
mod stream;

pub use request::translate_request;
pub use response::translate_response;
pub use stream::V2ChatEvents;
