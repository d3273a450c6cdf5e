//! The plan for one request: what the route actor decides before a provider module sees the
//! request. Templates are resolved, Kong's model rules and the streaming policy applied.

use std::sync::Arc;

use provider_sdk::abi::RouteType;

use crate::config::StreamingPolicy;
use crate::errors::GatewayError;
use crate::runtime::AiRoute;
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
}

pub fn make_plan(ai: &AiRoute, input: PlanInput) -> Result<Plan, GatewayError> {
    let route_type = ai.config.route_type;
    let (configured_name, options_json, costs) = match &input.template {
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
            (model.name.clone(), options, costs)
        }
        _ => (
            ai.config.model.name.clone(),
            ai.options_json.clone(),
            ai.costs,
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
    })
}

/// The few facts of the client's body that the plan needs, read once by the handler.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    pub model: Option<String>,
    pub stream: bool,
    pub include_usage: bool,
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
        })
    }
}
