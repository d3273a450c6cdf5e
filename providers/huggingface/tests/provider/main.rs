//! The huggingface provider called in-process through its `Provider` implementation, checked
//! against Kong's fixtures, Hugging Face's published schemas (what goes upstream, and what the
//! hand-written TGI answers and streams look like) and OpenAI's schema (what the client gets).
//!
//! Every module is marked `cfg(test)` so that the workspace lints treat the helpers as test code.

#[cfg(test)]
mod common;
#[cfg(test)]
mod malformed;
#[cfg(test)]
mod manifest;
#[cfg(test)]
mod responses;
#[cfg(test)]
mod streaming;
#[cfg(test)]
mod upstream_request;
