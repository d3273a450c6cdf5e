//! The mistral provider called in-process through its `Provider` implementation: Mistral's
//! dialect of OpenAI's API against Kong's fixtures and Mistral's OpenAPI document, and the Ollama
//! format against Kong's fixtures and Ollama's.
//!
//! Every module is marked `cfg(test)` so that the workspace lints treat the helpers as test code.

#[cfg(test)]
mod common;
#[cfg(test)]
mod malformed;
#[cfg(test)]
mod manifest;
#[cfg(test)]
mod ollama;
#[cfg(test)]
mod requests;
#[cfg(test)]
mod responses;
#[cfg(test)]
mod streaming;
