//! Whole responses from an OpenAI-compatible upstream: checked and metered, and forwarded as the
//! upstream sent them. Error bodies become OpenAI's envelope.

use abi_stable::std_types::{ROption, RVec};

use crate::abi::{Header, ModuleError, RequestPlan, ResponseMeta, RouteType, TranslatedResponse};
use crate::openai::{normalize_error_body, ResponseSkim};

/// `provider` names the upstream in error messages.
pub fn parse_response(
    provider: &str,
    plan: &RequestPlan<'_>,
    status: u16,
    body: &[u8],
) -> Result<TranslatedResponse, ModuleError> {
    if plan.route_type == RouteType::PRESERVE {
        return Ok(forwarded(status, native_metadata(body)));
    }
    if !(200..300).contains(&status) {
        return Ok(TranslatedResponse {
            status,
            headers: RVec::from(vec![Header::new("content-type", "application/json")]),
            body: ROption::RSome(normalize_error_body(status, body, provider).into()),
            meta: ResponseMeta::default(),
        });
    }
    let failed = |reason: &str| {
        ModuleError::bad_upstream(format!(
            "transformation failed from type {provider}://{}: {reason}",
            plan.route_type.as_str()
        ))
    };
    let skim = ResponseSkim::parse(body).map_err(|_| failed("response is not a JSON object"))?;
    if plan.route_type == RouteType::EMBEDDINGS {
        if !skim.has_data {
            return Err(failed("'data' not in response"));
        }
    } else if skim.choices.is_none() {
        return Err(failed("'choices' not in response"));
    }
    Ok(forwarded(status, skim.to_meta()))
}

/// Usage and model from a body the client gets untouched; a body that says nothing reads as
/// empty.
pub fn native_metadata(body: &[u8]) -> ResponseMeta {
    ResponseSkim::parse(body)
        .map(|skim| skim.to_meta())
        .unwrap_or_default()
}

fn forwarded(status: u16, meta: ResponseMeta) -> TranslatedResponse {
    TranslatedResponse {
        status,
        headers: RVec::new(),
        body: ROption::RNone,
        meta,
    }
}
