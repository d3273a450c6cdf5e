//! Where a request goes. Kong's URL rules (`upstream_url` replaces the origin, and its path, when
//! it has one, is the whole endpoint; `upstream_path` replaces the path; the client's query is
//! forwarded) are provider-sdk's; only the paths are Cohere's.

use provider_sdk::openai_compatible::{CompatibleUpstream, RoutePaths};

use crate::settings::ApiVersion;
use crate::PROVIDER;

/// Cohere's API origin, which `upstream_url` replaces (a private deployment, a proxy).
pub const DEFAULT_ORIGIN: &str = "https://api.cohere.com";

const V2_PATHS: RoutePaths = RoutePaths {
    chat: Some("/v2/chat"),
    completions: Some("/v1/generate"),
    embeddings: Some("/v2/embed"),
};

const V1_PATHS: RoutePaths = RoutePaths {
    chat: Some("/v1/chat"),
    completions: Some("/v1/generate"),
    embeddings: Some("/v1/embed"),
};

/// The endpoints of `version`.
pub fn upstream(version: ApiVersion) -> CompatibleUpstream<'static> {
    let mut upstream = CompatibleUpstream::new(PROVIDER, Some(DEFAULT_ORIGIN.into()));
    upstream.route_paths = match version {
        ApiVersion::V2 => V2_PATHS,
        ApiVersion::V1 => V1_PATHS,
    };
    upstream
}
