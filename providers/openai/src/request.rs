//! The upstream request: URL, method, headers and the edited body.

use abi_stable::std_types::{ROption, RString, RVec};
use provider_sdk::abi::{Framing, Header, ModuleError, RequestPlan, RouteType, UpstreamRequest};
use provider_sdk::openai::{edit_upstream_body, BodyEdits};

use crate::options::{Options, Templates};
use crate::upstream_url;

pub fn build(plan: &RequestPlan<'_>, body: &[u8]) -> Result<UpstreamRequest, ModuleError> {
    // Templates in the options are resolved from the client's headers, path and query, so a value
    // that does not parse here is the client's doing.
    let options: serde_json::Value = serde_json::from_str(plan.options.as_str())
        .map_err(|e| ModuleError::invalid_request(format!("model.options: not valid JSON: {e}")))?;
    let options = Options::parse(&options, Templates::Resolved)?;
    let url = RString::from(upstream_url::build(plan, &options));

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
    if upstream_url::default_path(plan.route_type).is_none() {
        return Err(ModuleError::invalid_request(format!(
            "openai does not support route type {}",
            plan.route_type.0
        )));
    }
    let edits = BodyEdits {
        model: plan.model.as_str(),
        stream: plan.stream,
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

fn framing(stream: bool) -> Framing {
    if stream {
        Framing::SSE
    } else {
        Framing::JSON
    }
}
