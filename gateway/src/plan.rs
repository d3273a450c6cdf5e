//! The plan for one request: what the route actor decides before a provider module sees the
//! request. Templates are resolved, Kong's model rules and the streaming policy applied.

use std::sync::Arc;

use provider_sdk::abi::{BodyMember, RouteType};

use crate::config::StreamingPolicy;
use crate::errors::GatewayError;
use crate::runtime::AiRoute;
use crate::telemetry::analytics::AzureMeta;
use crate::template::TemplateContext;

/// What the handler learned from the client's request that the plan depends on.
#[derive(Debug, Clone)]
pub struct PlanInput {
    /// The body's `model`, when it is a string (`null` and absent are `None`).
    pub body_model: Option<String>,
    pub stream_requested: bool,
    pub include_usage: bool,
    /// Present only when the route's model config has templates to resolve.
    pub template: Option<TemplateInputs>,
}

/// Owned copies of what templates may read, sent to the route actor only for templated routes.
#[derive(Debug, Clone)]
pub struct TemplateInputs {
    pub headers: actix_web::http::header::HeaderMap,
    pub captures: Vec<(String, String)>,
    pub query: String,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub model: String,
    /// `model.options` as JSON, templates resolved.
    pub options_json: Arc<str>,
    pub stream: bool,
    pub client_wants_usage: bool,
    /// Cost per 1M (input, output) tokens, when both are configured.
    pub costs: Option<(f64, f64)>,
    /// The tuning options the route configures, which override the client's.
    pub tuning: RequestParams,
    /// An azure route's deployment, for the analytics record.
    pub azure: Option<Arc<AzureMeta>>,
}

pub fn make_plan(ai: &AiRoute, input: PlanInput) -> Result<Plan, GatewayError> {
    let route_type = ai.config.route_type;
    let (configured_name, options_json, costs, tuning, azure) = match &input.template {
        Some(t) if ai.templated => {
            let ctx = TemplateContext {
                headers: &t.headers,
                uri_captures: &t.captures,
                query: &t.query,
            };
            let model = crate::template::resolve_model(&ai.config.model, &ctx)
                .map_err(GatewayError::bad_request)?;
            let options = Arc::<str>::from(model.options.to_string());
            let costs = crate::runtime::costs_of(&model.options);
            let tuning = RequestParams::from_options(&model.options);
            let azure = AzureMeta::of_route(&ai.config.model.provider, &model.options);
            (model.name.clone(), options, costs, tuning, azure)
        }
        _ => (
            ai.config.model.name.clone(),
            ai.options_json.clone(),
            ai.costs,
            ai.tuning,
            ai.azure.clone(),
        ),
    };
    let configured_name = configured_name.filter(|n| !n.is_empty());

    let body_model = input.body_model.filter(|m| !m.is_empty());
    let model = match (configured_name, body_model) {
        (Some(configured), Some(requested)) if configured != requested => {
            return Err(GatewayError::bad_request(format!(
                "cannot use own model - must be: {configured}"
            )))
        }
        (Some(configured), _) => configured,
        (None, Some(requested)) => requested,
        (None, None) if route_type == RouteType::PRESERVE => String::new(),
        (None, None) => {
            return Err(GatewayError::bad_request(
                "model parameter not found in request, nor in gateway configuration",
            ))
        }
    };

    let streams_at_all = route_type == RouteType::CHAT || route_type == RouteType::COMPLETIONS;
    let stream = streams_at_all
        && match ai.config.response_streaming {
            StreamingPolicy::Always => true,
            StreamingPolicy::Allow => input.stream_requested,
            StreamingPolicy::Deny if input.stream_requested => {
                return Err(GatewayError::bad_request(
                    "response streaming is not enabled for this LLM",
                ))
            }
            StreamingPolicy::Deny => false,
        };

    Ok(Plan {
        model,
        options_json,
        stream,
        client_wants_usage: stream && input.include_usage,
        costs,
        tuning,
        azure,
    })
}

/// The tuning parameters of a request that its span reports (`gen_ai.request.*`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RequestParams {
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
}

impl RequestParams {
    /// The ones a route's `model.options` set.
    pub fn from_options(options: &serde_json::Value) -> RequestParams {
        RequestParams {
            max_tokens: options.get("max_tokens").and_then(|v| v.as_u64()),
            temperature: options.get("temperature").and_then(|v| v.as_f64()),
            top_p: options.get("top_p").and_then(|v| v.as_f64()),
        }
    }
}

/// The few facts of the client's body that the plan needs, read once by the handler.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    pub model: Option<String>,
    pub stream: bool,
    pub include_usage: bool,
    /// The client's tuning parameters (`max_completion_tokens` standing in for `max_tokens`),
    /// for the span.
    pub params: RequestParams,
    /// Where the body's top-level members lie, handed to the module so that it need not read the
    /// body again.
    pub members: Vec<BodyMember>,
}

impl RequestFacts {
    /// Validates an OpenAI-shaped body for its route type. A `preserve` body may be anything; its
    /// `model` is read only when it is a JSON object that has one, for the model rules.
    pub fn read(route_type: RouteType, body: &[u8]) -> Result<RequestFacts, GatewayError> {
        let peek = provider_sdk::openai::peek_request(route_type, body)
            .map_err(GatewayError::from_module)?;
        Ok(RequestFacts {
            model: peek.model.map(|m| m.into_owned()),
            stream: peek.stream,
            include_usage: peek.include_usage,
            params: RequestParams {
                max_tokens: peek.max_tokens,
                temperature: peek.temperature,
                top_p: peek.top_p,
            },
            members: peek.members,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_params_are_read_with_the_facts_and_from_options() {
        let body = br#"{"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":256,"temperature":0.2,"top_p":0.9}"#;
        assert_eq!(
            RequestFacts::read(RouteType::CHAT, body).unwrap().params,
            RequestParams {
                max_tokens: Some(256),
                temperature: Some(0.2),
                top_p: Some(0.9),
            }
        );
        assert_eq!(
            RequestFacts::read(RouteType::PRESERVE, br#"{"temperature":"hot"}"#)
                .unwrap()
                .params,
            RequestParams::default()
        );
        assert_eq!(
            RequestParams::from_options(
                &serde_json::json!({"max_tokens": 512, "upstream_url": "x"})
            ),
            RequestParams {
                max_tokens: Some(512),
                ..RequestParams::default()
            }
        );
    }
}
