//! OpenAI wire knowledge shared by the gateway and every module: the request peek and its
//! validation, the response skim that meters usage, upstream error normalisation, the request
//! edits for OpenAI-compatible upstreams, and the SSE relay for their streams.

mod error_body;
mod json_shape;
mod lenient;
mod request;
mod response;
mod stream;
mod upstream_body;

pub use error_body::normalize_error_body;
pub use request::{peek_request, RequestPeek, MULTIPLE_FORMATS, NO_VALID_PROMPTS};
pub use response::ResponseSkim;
pub use stream::{ChunkRelay, MAX_EVENT_BYTES};
pub use upstream_body::{edit_upstream_body, BodyEdits};
