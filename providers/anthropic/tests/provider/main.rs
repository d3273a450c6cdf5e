//! The anthropic provider called in-process through its `Provider` implementation, checked against
//! Kong's fixtures, Anthropic's published request schemas and its real SSE transcripts.
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
