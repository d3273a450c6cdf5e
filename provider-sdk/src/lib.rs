//! provider-sdk: the contract between the `ai-gateway` and its provider modules, and the helpers
//! that every module shares.
//!
//! - [`abi`]: the stable binary interface (root module, plan, upstream request, translators).
//! - [`export`]: the plain-Rust [`Provider`] trait and [`export_provider!`], which wraps every entry
//!   point in `catch_unwind`.
//! - [`client_body`]: the client's body as a module receives it, with the members the gateway
//!   located while validating it.
//! - [`error`]: module errors and the OpenAI error envelope.
//! - [`options`]: `config.model.options`, Kong's shared option schema, typed.
//! - [`openai`]: OpenAI wire types: the request peek the gateway uses, the client's request as
//!   translators read it, the responses and stream chunks translators write.
//! - [`openai_compatible`]: the whole upstream side for providers that speak OpenAI's API.
//! - [`ollama`]: the whole upstream side for providers whose route points at an Ollama server.
//! - [`finish_reason`], [`tool_calls`], [`tool_parameters`], [`images`]: mappings every translator
//!   shares.
//! - [`framing`]: incremental decoders for streamed bodies (SSE, NDJSON).
//! - [`framed_stream`]: the stream translator for providers whose events map onto OpenAI's stream
//!   one by one, given what each event means.
//! - [`json_edit`]: edits to the top level of a JSON object that keep every other byte as sent.
//! - [`json_bytes`]: JSON read from bytes with one UTF-8 check of the whole text.
//! - [`url`]: checks and query parameters for upstream URLs.
//!
//! `AGENTS.md` beside this crate says which helper to reach for when writing a provider module.

pub mod abi;
pub mod client_body;
pub mod error;
pub mod export;
pub mod finish_reason;
pub mod framed_stream;
pub mod framing;
pub mod images;
pub mod json_bytes;
pub mod json_edit;
pub mod json_member;
pub mod ollama;
pub mod openai;
pub mod openai_compatible;
pub mod options;
pub mod tool_calls;
pub mod tool_parameters;
pub mod url;

/// The version of this SDK, which a module reports in its manifest.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

pub use abi_stable;
pub use client_body::ClientBody;
pub use export::{guard, provider_module, Provider, StreamTranslate};
