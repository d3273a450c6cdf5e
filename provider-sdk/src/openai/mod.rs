//! OpenAI wire knowledge shared by the gateway and every module.
//!
//! - The gateway's side: the request peek and its validation ([`peek_request`]), the response
//!   skim that meters usage ([`ResponseSkim`]), upstream error normalisation.
//! - OpenAI-compatible upstreams: the body edits ([`edit_upstream_body`]) and the SSE relay
//!   ([`ChunkRelay`]); [`crate::openai_compatible`] puts them together.
//! - Translators for other providers: the client's request typed ([`ChatRequest`],
//!   [`CompletionRequest`], [`EmbeddingsRequest`]), the responses they write ([`ChatCompletion`],
//!   [`TextCompletion`], [`EmbeddingList`]) and the stream ([`ChatStreamWriter`]).

mod build;
mod chat;
mod chat_tools;
mod chunk_writer;
mod completions;
mod embeddings;
mod error_body;
mod fields;
mod identity;
mod json_shape;
mod lenient;
mod request;
mod response;
mod stream;
mod unsupported;
mod upstream_body;

pub use build::{
    AssistantMessage, BuiltResponse, ChatChoice, ChatCompletion, EmbeddingList, OutputToolCall,
    TextChoice, TextCompletion,
};
pub use chat::{
    ChatMessage, ChatRequest, Content, ContentPart, ImageUrl, JsonSchemaFormat, ResponseFormat,
    Role,
};
pub use chat_tools::{FunctionCall, FunctionDefinition, Tool, ToolCall, ToolChoice};
pub use chunk_writer::{ChatStreamWriter, ChunkObject};
pub use completions::CompletionRequest;
pub use embeddings::{EmbeddingsRequest, EncodingFormat};
pub use error_body::normalize_error_body;
pub use fields::{StreamOptions, TextInput};
pub use identity::{new_response_id, unix_time_now};
pub use request::{peek_request, RequestPeek, MULTIPLE_FORMATS, NO_VALID_PROMPTS};
pub use response::ResponseSkim;
pub use stream::{ChunkRelay, MAX_EVENT_BYTES};
pub use unsupported::{reject_other_fields, unsupported};
pub use upstream_body::{
    apply_upstream_edits, body_members, body_object, edit_upstream_body, BodyEdits,
};
