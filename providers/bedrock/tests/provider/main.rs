//! The bedrock provider called in-process through its `Provider` implementation, checked against
//! Kong's fixtures, botocore's model of Bedrock Runtime, OpenAI's schema, and event streams built
//! frame by frame.
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
