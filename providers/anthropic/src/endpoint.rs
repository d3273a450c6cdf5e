//! Where an Anthropic request goes and what it carries besides its body.
//!
//! - `llm/v1/chat` → `POST {origin}/v1/messages`, `llm/v1/completions` → `POST {origin}/v1/complete`,
//!   `preserve` → the client's method and path; `upstream_url` and `upstream_path` follow Kong's
//!   rules (provider-sdk's URL builder, shared with the OpenAI-compatible providers).
//! - `anthropic-version: {anthropic_version}` on every request, as Kong sets it; the option is
//!   required. The key goes in `x-api-key` (the route's `auth`); a client's `anthropic-beta`
//!   reaches Anthropic with the other client headers the gateway forwards.

use abi_stable::std_types::{ROption, RVec};
use provider_sdk::abi::{Framing, Header, ModuleError, RequestPlan, RouteType, UpstreamRequest};
use provider_sdk::openai_compatible::{CompatibleUpstream, RoutePaths};
use provider_sdk::options::{is_template, required, ModelOptions};

use crate::PROVIDER;

const DEFAULT_ORIGIN: &str = "https://api.anthropic.com";

const ROUTE_PATHS: RoutePaths = RoutePaths {
    chat: Some("/v1/messages"),
    completions: Some("/v1/complete"),
    embeddings: None,
};

/// The `max_tokens` sent when neither the route (`max_tokens` option) nor the client
/// (`max_completion_tokens` or `max_tokens`) sets one. Anthropic requires the field, while OpenAI
/// lets clients leave it out. 4096 is the largest output every Claude model accepts (the Claude 3
/// models cap output at 4096), so a request that names no cap never fails for asking too much,
/// and it is long enough for ordinary answers; a client that wants longer answers asks for them.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;

/// The output cap for a request: the route's option wins (Kong's rule: configured tuning values
/// override the client's), then the client's, then [`DEFAULT_MAX_TOKENS`].
pub fn max_tokens(options: &ModelOptions<'_>, client: Option<u64>) -> u64 {
    options.max_tokens.or(client).unwrap_or(DEFAULT_MAX_TOKENS)
}

fn upstream() -> CompatibleUpstream<'static> {
    CompatibleUpstream {
        route_paths: ROUTE_PATHS,
        ..CompatibleUpstream::new(PROVIDER, Some(DEFAULT_ORIGIN.into()))
    }
}

/// Checks a route's options when the configuration loads.
pub fn check_config(route_type: RouteType, options: &ModelOptions<'_>) -> Result<(), ModuleError> {
    let version = anthropic_version(options)?;
    if !is_template(version) {
        check_header_value(version)?;
    }
    upstream().check_config(route_type, options)
}

/// The request to send: `translated` is the body built for a chat or completions route, `None`
/// sends the client's body (`preserve`).
pub fn upstream_request(
    plan: &RequestPlan<'_>,
    options: &ModelOptions<'_>,
    translated: Option<Vec<u8>>,
) -> Result<UpstreamRequest, ModuleError> {
    let version = anthropic_version(options)?;
    check_header_value(version)?;
    let url = upstream().url(plan, options)?;
    let mut headers = vec![Header::new("anthropic-version", version)];
    let method = if translated.is_some() {
        headers.push(Header::new("content-type", "application/json"));
        "POST"
    } else {
        plan.client_method.as_str()
    };
    Ok(UpstreamRequest {
        method: method.into(),
        url: url.into(),
        headers: RVec::from(headers),
        body: translated.map(RVec::from).into(),
        response_framing: if plan.stream {
            Framing::SSE
        } else {
            Framing::JSON
        },
        signing: ROption::RNone,
    })
}

pub fn unsupported_route_type(route_type: RouteType) -> ModuleError {
    ModuleError::invalid_request(format!(
        "{PROVIDER} does not support route type {}",
        route_type.as_str()
    ))
}

fn anthropic_version<'o>(options: &'o ModelOptions<'_>) -> Result<&'o str, ModuleError> {
    required(&options.anthropic_version, "anthropic_version", PROVIDER)
}

/// A template filled from the client's request must not be able to add a header line, and the
/// gateway would silently drop a header value it cannot send.
fn check_header_value(version: &str) -> Result<(), ModuleError> {
    let printable = |b: u8| (0x20..0x7f).contains(&b);
    if version.is_empty() || !version.bytes().all(printable) {
        return Err(ModuleError::invalid_request(format!(
            "anthropic_version: must be a printable header value such as 2023-06-01, not \
             {version:?}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use provider_sdk::options::Templates;

    fn options(json: &str) -> ModelOptions<'_> {
        ModelOptions::parse(json, Templates::Resolved).unwrap()
    }

    #[test]
    fn the_route_cap_wins_then_the_clients_then_the_default() {
        assert_eq!(max_tokens(&options(r#"{"max_tokens":512}"#), Some(10)), 512);
        assert_eq!(max_tokens(&options("{}"), Some(10)), 10);
        assert_eq!(max_tokens(&options("{}"), None), 4096);
    }

    #[test]
    fn the_version_is_required_and_must_be_a_header_value() {
        let error = anthropic_version(&options("{}")).unwrap_err();
        assert_eq!(
            error.message.as_str(),
            "anthropic_version: must be set for the anthropic provider"
        );
        assert!(check_header_value("2023-06-01").is_ok());
        for bad in ["", "2023-06-01\r\nx-api-key: stolen", "v\u{e9}"] {
            let error = check_header_value(bad).unwrap_err();
            assert!(
                error.message.starts_with("anthropic_version: must be"),
                "{bad:?}"
            );
        }
    }
}
