//! Cohere's `/v1/generate` response as an OpenAI text completion.
//!
//! | generate | OpenAI |
//! |---|---|
//! | `id` | `id` |
//! | `generations[]` (by `index` when given) | `choices[]`: `text`, `finish_reason` mapped (Kong: always `stop`) |
//! | `meta.tokens`, else `meta.billed_units` | `usage` |

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan, TranslatedResponse};
use provider_sdk::openai::{new_response_id, unix_time_now, TextChoice, TextCompletion};

use crate::chat_v1::NO_REPLY;
use crate::error::unreadable;
use crate::finish_reason::{ending_of, generation_failed, Ending};
use crate::usage::CohereUsage;

/// Translates a `/v1/generate` success body.
pub fn translate_response(
    plan: &RequestPlan<'_>,
    body: &[u8],
) -> Result<TranslatedResponse, ModuleError> {
    let response: GenerateResponse<'_> = provider_sdk::json_bytes::from_bytes(body)
        .map_err(|e| unreadable(plan.route_type, &format!("not a generate response: {e}")))?;
    let mut generations = response
        .generations
        .ok_or_else(|| unreadable(plan.route_type, NO_REPLY))?;
    // Stable: generations without an index keep the order Cohere gave.
    generations.sort_by_key(|g| g.index.unwrap_or(0));
    let choices = generations
        .into_iter()
        .map(
            |generation| match ending_of(generation.finish_reason.as_deref(), false) {
                Ending::Finished(finish_reason) => Ok(TextChoice {
                    text: generation.text.unwrap_or_default(),
                    finish_reason,
                }),
                Ending::Failed => Err(generation_failed(
                    generation.finish_reason.as_deref().unwrap_or_default(),
                    None,
                )),
            },
        )
        .collect::<Result<Vec<_>, _>>()?;
    let id = match response.id {
        Some(id) => id,
        None => Cow::Owned(new_response_id("cmpl-")),
    };
    let completion = TextCompletion {
        id: &id,
        created: unix_time_now(),
        model: plan.model.as_str(),
        choices,
        usage: response.meta.unwrap_or_default().to_usage(),
    };
    Ok(completion.build()?.into_translated())
}

#[derive(serde::Deserialize)]
struct GenerateResponse<'a> {
    #[serde(default, borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    generations: Option<Vec<Generation<'a>>>,
    #[serde(default)]
    meta: Option<CohereUsage>,
}

#[derive(serde::Deserialize)]
struct Generation<'a> {
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default)]
    index: Option<u64>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}
