//! The cohere provider called in-process through its `Provider` implementation, checked against
//! Kong's fixtures, Cohere's documented request shapes and Cohere-shaped responses and streams.
//!
//! Every module is marked `cfg(test)` so that the workspace lints treat the helpers as test code.

#[cfg(test)]
mod cohere_api;
#[cfg(test)]
mod common;
#[cfg(test)]
mod malformed;
#[cfg(test)]
mod manifest;
#[cfg(test)]
mod preserve;
#[cfg(test)]
mod responses;
#[cfg(test)]
mod streaming;
#[cfg(test)]
mod upstream_request;
