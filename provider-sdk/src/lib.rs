//! provider-sdk: the contract between the `ai-gateway` and its provider modules, and the helpers
//! that every module shares.
//!
//! - [`abi`]: the stable binary interface (root module, plan, upstream request, translators).
//! - [`export`]: the plain-Rust [`Provider`] trait and [`export_provider!`], which wraps every entry
//!   point in `catch_unwind`.
//! - [`error`]: module errors and the OpenAI error envelope.
//! - [`openai`]: OpenAI wire types that translators and the gateway read.
//! - [`framing`]: incremental decoders for streamed bodies (SSE).
//! - [`json_edit`]: edits to the top level of a JSON object that keep every other byte as sent.

pub mod abi;
pub mod error;
pub mod export;
pub mod framing;
pub mod json_edit;
pub mod openai;

/// The version of this SDK, which a module reports in its manifest.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

pub use abi_stable;
pub use export::{guard, provider_module, Provider, StreamTranslate};
