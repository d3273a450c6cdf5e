//! The gemini provider called in-process through its `Provider` implementation: Kong's fixtures,
//! the Vertex AI discovery document for every body sent upstream, OpenAI's schema for every body
//! sent back, Gemini-shaped streams split at every byte, and damaged input.
//!
//! Every module is marked `cfg(test)` so that the workspace lints treat the helpers as test code.

#[cfg(test)]
mod common;
#[cfg(test)]
mod embeddings;
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
