//! Ollama's native API, for every provider whose route can point at an Ollama server
//! (`llama2_format: ollama`, `mistral_format: ollama`): `POST /api/chat`, `/api/generate` and
//! `/api/embed`, with newline-delimited JSON streams.
//!
//! | OpenAI | Ollama |
//! |---|---|
//! | chat `messages` | `messages` (`content` a string; `images` base64 from data URLs; assistant `tool_calls` with `arguments` as an object; tool results with `tool_name`) |
//! | `tools` | `tools`, sent unless `tool_choice` is `none`; `required` or a named function is a 400 (Ollama cannot force a call) |
//! | `response_format` | `format`: `"json"` or the JSON schema |
//! | `max_tokens`, `temperature`, `top_p`, `top_k`, `seed`, `stop` | `options.num_predict`, `.temperature`, `.top_p`, `.top_k`, `.seed`, `.stop` |
//! | `stream` | `stream`, always written: Ollama streams unless it reads `false` |
//! | completions `prompt` | `/api/generate` `prompt` |
//! | embeddings `input`, `dimensions` | `/api/embed` `input`, `dimensions` |
//! | `finish_reason` | tool calls → `tool_calls`; `done_reason` `length` → `length`; else `stop` |
//! | `usage` | `prompt_eval_count`, `eval_count` |
//! | `created` | `created_at` (RFC 3339) in Unix seconds |
//! | tool call `id` | Ollama's when it sends one, else `call_<n>`, numbered in the response |
//!
//! Where a request goes ([`endpoint`]): an `upstream_url` whose path ends in an Ollama endpoint
//! (`/api/chat`, `/api/generate`, `/api/embed`) names the server; each route type uses its own
//! endpoint beside it, so `http://ollama:11434/api/chat` serves chat as given and embeddings at
//! `/api/embed`. A URL with no path, or one ending in `/`, is a base the endpoint is appended to.
//! Any other path is the endpoint itself, as Kong uses `upstream_url`.
//!
//! Ollama has no embeddings encoding option: vectors are always JSON numbers. The response side
//! cannot see the client's `encoding_format`, so `base64` is answered with numbers too, which the
//! openai SDKs (that ask for base64 by default) decode either way.

mod endpoint;
mod request;
mod response;
mod stream;
mod timestamp;

pub use stream::OllamaStream;

use abi_stable::std_types::{ROption, RString, RVec};

use crate::abi::{
    Framing, Header, ModuleError, RequestPlan, ResponseMeta, RouteType, TranslatedResponse,
    UpstreamRequest,
};
use crate::options::{missing_option, ModelOptions};
use endpoint::Endpoint;

/// An Ollama server behind one provider's route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ollama<'a> {
    /// Names the provider in errors, e.g. `llama2`.
    pub provider: &'a str,
}

impl<'a> Ollama<'a> {
    pub fn new(provider: &'a str) -> Ollama<'a> {
        Ollama { provider }
    }

    /// Checks at config load that a route of `route_type` can be served: Ollama is self-hosted,
    /// so `upstream_url` is required.
    pub fn check_config(
        &self,
        route_type: RouteType,
        options: &ModelOptions<'_>,
    ) -> Result<(), ModuleError> {
        if Endpoint::for_route(route_type).is_none() && route_type != RouteType::PRESERVE {
            return Err(self.unsupported_route(route_type));
        }
        options
            .upstream_url
            .as_deref()
            .map(|_| ())
            .ok_or_else(|| missing_option("upstream_url", self.provider))
    }

    /// The upstream request for `plan`: the client's OpenAI body as Ollama's, or for `preserve`
    /// the client's own body to the client's path.
    pub fn build_request(
        &self,
        plan: &RequestPlan<'_>,
        options: &ModelOptions<'_>,
        body: &[u8],
    ) -> Result<UpstreamRequest, ModuleError> {
        let upstream_url = options
            .upstream_url
            .as_deref()
            .ok_or_else(|| missing_option("upstream_url", self.provider))?;
        let query = plan.client_query.as_str();
        if plan.route_type == RouteType::PRESERVE {
            return Ok(UpstreamRequest {
                method: plan.client_method.as_str().into(),
                url: endpoint::preserved_url(upstream_url, plan.client_path.as_str(), query)?
                    .into(),
                headers: RVec::new(),
                body: ROption::RNone,
                response_framing: Framing::JSON,
                signing: ROption::RNone,
            });
        }
        let endpoint = Endpoint::for_route(plan.route_type)
            .ok_or_else(|| self.unsupported_route(plan.route_type))?;
        let translated = match endpoint {
            Endpoint::Chat => request::chat(self.provider, plan, options, body)?,
            Endpoint::Generate => request::generate(self.provider, plan, options, body)?,
            Endpoint::Embed => request::embed(self.provider, plan, body)?,
        };
        let streams = plan.stream && endpoint != Endpoint::Embed;
        Ok(UpstreamRequest {
            method: "POST".into(),
            url: RString::from(endpoint.url(upstream_url, query)?),
            headers: RVec::from(vec![Header::new("content-type", "application/json")]),
            body: ROption::RSome(translated.into()),
            response_framing: if streams {
                Framing::NDJSON
            } else {
                Framing::JSON
            },
            signing: ROption::RNone,
        })
    }

    /// Translates a whole Ollama response; error statuses become OpenAI's envelope with the same
    /// status.
    pub fn parse_response(
        &self,
        plan: &RequestPlan<'_>,
        status: u16,
        body: &[u8],
    ) -> Result<TranslatedResponse, ModuleError> {
        response::translate(self.provider, plan, status, body)
    }

    /// The translator for a streamed `/api/chat` or `/api/generate` response.
    pub fn stream_translator(&self, plan: &RequestPlan<'_>) -> OllamaStream {
        stream::new_stream(self.provider, plan)
    }

    fn unsupported_route(&self, route_type: RouteType) -> ModuleError {
        ModuleError::invalid_request(format!(
            "route_type: {} (Ollama) does not support route type {}",
            self.provider,
            route_type.as_str()
        ))
    }
}

/// Usage and model of a response that reaches the client untouched (`preserve`): a JSON reply,
/// or the last line of an NDJSON stream that was read whole. A body that says nothing reads as
/// empty.
pub fn native_metadata(body: &[u8]) -> ResponseMeta {
    response::native_metadata(body)
}

#[cfg(test)]
mod tests;
