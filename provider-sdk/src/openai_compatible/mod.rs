//! The upstream side of every provider that speaks OpenAI's API (OpenAI, Azure OpenAI, Mistral and
//! Llama servers in OpenAI format, Hugging Face TGI's chat route): the client already speaks the
//! upstream's format, so nothing is translated.
//!
//! The request body goes upstream with only the fields the route decides edited in place
//! ([`edit_upstream_body`]); responses go back as sent, skimmed for usage ([`parse_response`]);
//! streams are relayed event by event ([`stream_relay`]). What differs between such providers is
//! data, a [`CompatibleUpstream`]: where requests go, which query parameters they carry, and
//! whether the stream may ask for usage.

mod response;
mod url;

use std::borrow::Cow;

use abi_stable::std_types::{ROption, RString, RVec};

pub use response::{native_metadata, parse_response};

use crate::abi::{Framing, Header, ModuleError, RequestPlan, RouteType, UpstreamRequest};
use crate::client_body::ClientBody;
use crate::openai::{edit_upstream_body, BodyEdits, ChunkRelay};
use crate::options::{is_template, missing_option, ModelOptions};

/// An OpenAI-compatible provider's endpoints and habits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompatibleUpstream<'a> {
    /// Names the provider in error messages.
    pub provider: &'a str,
    /// `scheme://host[:port]` when `upstream_url` is not set; `None` makes `upstream_url`
    /// required (self-hosted servers).
    pub default_origin: Option<Cow<'a, str>>,
    /// What every path starts with before the route's own path or `upstream_path` (Azure's
    /// `/openai/deployments/{id}`); empty for most providers.
    pub path_prefix: Cow<'a, str>,
    pub route_paths: RoutePaths,
    pub upstream_url_rule: UpstreamUrlRule,
    /// Query parameters every request carries unless the client's query sets them (Azure's
    /// `api-version`).
    pub default_query: Vec<(&'static str, Cow<'a, str>)>,
    /// Whether a streamed call may ask for the usage chunk (`stream_options.include_usage`);
    /// off for upstreams that reject the field.
    pub stream_usage: bool,
}

/// The provider's path for each route type, after the prefix. `None`: no default endpoint, so
/// the route needs `upstream_url` or `upstream_path`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutePaths {
    pub chat: Option<&'static str>,
    pub completions: Option<&'static str>,
    pub embeddings: Option<&'static str>,
}

impl RoutePaths {
    /// OpenAI's own paths, which most compatible servers copy.
    pub const OPENAI: RoutePaths = RoutePaths {
        chat: Some("/v1/chat/completions"),
        completions: Some("/v1/completions"),
        embeddings: Some("/v1/embeddings"),
    };

    pub fn get(&self, route_type: RouteType) -> Option<&'static str> {
        match route_type {
            RouteType::CHAT => self.chat,
            RouteType::COMPLETIONS => self.completions,
            RouteType::EMBEDDINGS => self.embeddings,
            _ => None,
        }
    }
}

/// What a path in `upstream_url` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamUrlRule {
    /// The whole path of the endpoint (Kong's rule for OpenAI, Azure, Mistral and Llama2).
    Endpoint,
    /// A base the route's path is appended to (Kong's rule for Hugging Face chat).
    Base,
}

impl<'a> CompatibleUpstream<'a> {
    /// A provider with OpenAI's paths, no path prefix, no default query, Kong's `upstream_url`
    /// rule, and stream usage requested.
    pub fn new(provider: &'a str, default_origin: Option<Cow<'a, str>>) -> CompatibleUpstream<'a> {
        CompatibleUpstream {
            provider,
            default_origin,
            path_prefix: Cow::Borrowed(""),
            route_paths: RoutePaths::OPENAI,
            upstream_url_rule: UpstreamUrlRule::Endpoint,
            default_query: Vec::new(),
            stream_usage: true,
        }
    }

    /// The absolute URL for `plan`'s request.
    pub fn url(
        &self,
        plan: &RequestPlan<'_>,
        options: &ModelOptions<'_>,
    ) -> Result<String, ModuleError> {
        url::build(self, plan, options)
    }

    /// Checks at config load that a route of `route_type` can reach an endpoint: `upstream_url`
    /// when there is no default origin, and a path for the route type.
    pub fn check_config(
        &self,
        route_type: RouteType,
        options: &ModelOptions<'_>,
    ) -> Result<(), ModuleError> {
        self.check_route_type(route_type)?;
        let upstream_url = options.upstream_url.as_deref();
        if upstream_url.is_none() && self.default_origin.is_none() {
            return Err(missing_option("upstream_url", self.provider));
        }
        let url_has_path = upstream_url.is_some_and(|url| {
            is_template(url)
                || crate::url::split_absolute(url).is_some_and(|(_, path)| !path.is_empty())
        });
        let has_endpoint = route_type == RouteType::PRESERVE
            || options.upstream_path.is_some()
            || self.route_paths.get(route_type).is_some()
            || (url_has_path && self.upstream_url_rule == UpstreamUrlRule::Endpoint);
        if !has_endpoint {
            return Err(url::no_endpoint(self.provider, route_type));
        }
        Ok(())
    }

    /// The upstream request for `plan`. `preserve` sends the client's method and body to the
    /// client's path; the other route types `POST` the body with the route's edits.
    pub fn build_request(
        &self,
        plan: &RequestPlan<'_>,
        options: &ModelOptions<'_>,
        body: &ClientBody<'_>,
    ) -> Result<UpstreamRequest, ModuleError> {
        self.check_route_type(plan.route_type)?;
        let url = RString::from(self.url(plan, options)?);
        if plan.route_type == RouteType::PRESERVE {
            return Ok(UpstreamRequest {
                method: plan.client_method.as_str().into(),
                url,
                headers: RVec::new(),
                body: ROption::RNone,
                response_framing: framing(plan.stream),
                signing: ROption::RNone,
            });
        }
        let edits = BodyEdits {
            model: plan.model.as_str(),
            stream: plan.stream,
            stream_usage: self.stream_usage,
            max_tokens: options.max_tokens,
            temperature: options.temperature,
            top_p: options.top_p,
        };
        let body = edit_upstream_body(plan.route_type, body, &edits)?;
        Ok(UpstreamRequest {
            method: "POST".into(),
            url,
            headers: RVec::from(vec![Header::new("content-type", "application/json")]),
            body: body.map(RVec::from).into(),
            response_framing: framing(plan.stream && plan.route_type != RouteType::EMBEDDINGS),
            signing: ROption::RNone,
        })
    }

    fn check_route_type(&self, route_type: RouteType) -> Result<(), ModuleError> {
        match route_type {
            RouteType::CHAT
            | RouteType::COMPLETIONS
            | RouteType::EMBEDDINGS
            | RouteType::PRESERVE => Ok(()),
            other => Err(ModuleError::invalid_request(format!(
                "{} does not support route type {}",
                self.provider, other.0
            ))),
        }
    }
}

/// The stream translator for `plan`: a `preserve` stream is forwarded byte for byte and only
/// metered; the others are re-framed event by event, with the usage chunk kept only when the
/// client asked for it.
pub fn stream_relay(plan: &RequestPlan<'_>) -> ChunkRelay {
    if plan.route_type == RouteType::PRESERVE {
        ChunkRelay::verbatim()
    } else {
        ChunkRelay::reframing(plan.client_wants_usage)
    }
}

fn framing(stream: bool) -> Framing {
    if stream {
        Framing::SSE
    } else {
        Framing::JSON
    }
}
