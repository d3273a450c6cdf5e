//! A legacy Text Completions response (`{completion, stop_reason, model}`) as an OpenAI
//! `text_completion`. The API reports no token counts, so usage is an object of zeros for the
//! client and "not reported" for the gateway's metering. Its `stop_reason` is mapped (Kong passes
//! `stop_sequence` through).

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan, TranslatedResponse};
use provider_sdk::openai::{unix_time_now, TextChoice, TextCompletion};

use crate::messages_response::{transformation_failed, AnthropicResponse};
use crate::stop_reason::finish_reason;

pub fn translate_response(
    plan: &RequestPlan<'_>,
    body: &[u8],
) -> Result<TranslatedResponse, ModuleError> {
    let response = AnthropicResponse::parse(plan, body)?;
    let Some(text) = &response.completion else {
        return Err(transformation_failed(plan, "'completion' not in response"));
    };
    let id = response.id_or_new("cmpl-");
    let completion = TextCompletion {
        id: &id,
        created: unix_time_now(),
        model: response.model_or(plan.model.as_str()),
        choices: vec![TextChoice {
            text: Cow::Borrowed(text),
            finish_reason: finish_reason(response.stop_reason.as_deref()),
        }],
        usage: response.usage.unwrap_or_default().to_usage(),
    };
    Ok(completion.build()?.into_translated())
}
