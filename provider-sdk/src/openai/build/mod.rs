//! Whole OpenAI responses written by translators for providers whose format differs: a chat
//! completion, a text completion, an embeddings list. Each carries every field OpenAI's SDKs
//! require with strict validation (`object`, `created`, `choices[].index`, `logprobs: null`, a
//! usage object), and yields the [`ResponseMeta`] the gateway meters.

mod chat;
mod completion;
mod embeddings;
pub(crate) mod usage;

pub use chat::{AssistantMessage, ChatChoice, ChatCompletion, OutputToolCall};
pub use completion::{TextChoice, TextCompletion};
pub use embeddings::EmbeddingList;

use abi_stable::std_types::{ROption, RVec};
use serde::Serialize;

use crate::abi::{Header, ModuleError, ResponseMeta, TranslatedResponse};

/// A finished response body and what the gateway meters about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltResponse {
    pub body: Vec<u8>,
    pub meta: ResponseMeta,
}

impl BuiltResponse {
    /// The translated `200` response: the body, `content-type: application/json`, and the meta.
    pub fn into_translated(self) -> TranslatedResponse {
        TranslatedResponse {
            status: 200,
            headers: RVec::from(vec![Header::new("content-type", "application/json")]),
            body: ROption::RSome(self.body.into()),
            meta: self.meta,
        }
    }
}

fn to_json(value: &impl Serialize) -> Result<Vec<u8>, ModuleError> {
    serde_json::to_vec(value).map_err(|e| {
        ModuleError::module_failure(format!("cannot serialize the OpenAI response: {e}"))
    })
}
