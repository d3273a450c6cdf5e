//! The llama2 provider called in-process through its `Provider` implementation, in each of its
//! three formats, checked against Kong's fixtures and the upstreams' published schemas (TGI's
//! text-generation input, Ollama's OpenAPI document, OpenAI's).
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
mod openai;
#[cfg(test)]
mod raw;
#[cfg(test)]
mod raw_stream;
