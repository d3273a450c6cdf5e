//! Cohere's embed API (`POST /v2/embed`, or `/v1/embed` with api_version v1), the embeddings
//! route: request and JSON response.

mod request;
mod response;

pub use request::translate_request;
pub use response::translate_response;
