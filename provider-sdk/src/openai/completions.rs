//! A client's text completion request (`POST /v1/completions`) as translators read it.

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, Error, MapAccess, Visitor};

use super::fields::{parse_body, IsSet, StopSequences, StreamOptions, Text, TextInput};
use crate::abi::ModuleError;
use crate::json_edit::ObjectKey;

#[derive(Debug, Clone)]
pub struct CompletionRequest<'a> {
    pub model: Option<Cow<'a, str>>,
    pub prompt: TextInput<'a>,
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u64>,
    /// `stop` as a list; empty when not sent.
    pub stop: Vec<Cow<'a, str>>,
    pub seed: Option<i64>,
    pub stream: Option<bool>,
    pub stream_options: Option<StreamOptions>,
    pub n: Option<u64>,
    pub user: Option<Cow<'a, str>>,
    /// The names of every other top-level field set to something other than `null`.
    pub other: Vec<Cow<'a, str>>,
}

impl<'a> CompletionRequest<'a> {
    pub fn parse(body: &'a [u8]) -> Result<CompletionRequest<'a>, ModuleError> {
        parse_body(body)
    }

    /// The prompt as one text, for providers that take a single prompt: a list of one string is
    /// that string; several prompts or token ids are a 400.
    pub fn single_prompt(&self, provider: &str) -> Result<&str, ModuleError> {
        match &self.prompt {
            TextInput::Text(text) => Ok(text),
            TextInput::Texts(texts) if texts.len() == 1 => Ok(texts.first().map_or("", |t| t)),
            TextInput::Texts(_) => Err(ModuleError::invalid_request(format!(
                "several prompts in one request are not supported by provider {provider}"
            ))),
            TextInput::Tokens(_) | TextInput::TokenArrays(_) => Err(ModuleError::invalid_request(
                format!("prompts given as token ids are not supported by provider {provider}"),
            )),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for CompletionRequest<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(CompletionVisitor(std::marker::PhantomData))
    }
}

struct CompletionVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for CompletionVisitor<'a> {
    type Value = CompletionRequest<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a completion request object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut prompt = None;
        let mut request = CompletionRequest {
            model: None,
            prompt: TextInput::Texts(Vec::new()),
            max_tokens: None,
            temperature: None,
            top_p: None,
            top_k: None,
            stop: Vec::new(),
            seed: None,
            stream: None,
            stream_options: None,
            n: None,
            user: None,
            other: Vec::new(),
        };
        while let Some(ObjectKey(key)) = map.next_key()? {
            match key.as_ref() {
                "model" => request.model = map.next_value::<Option<Text<'a>>>()?.map(|t| t.0),
                "prompt" => prompt = Some(map.next_value()?),
                "max_tokens" => request.max_tokens = map.next_value()?,
                "temperature" => request.temperature = map.next_value()?,
                "top_p" => request.top_p = map.next_value()?,
                "top_k" => request.top_k = map.next_value()?,
                "stop" => request.stop = map.next_value::<StopSequences<'a>>()?.0,
                "seed" => request.seed = map.next_value()?,
                "stream" => request.stream = map.next_value()?,
                "stream_options" => request.stream_options = map.next_value()?,
                "n" => request.n = map.next_value()?,
                "user" => request.user = map.next_value::<Option<Text<'a>>>()?.map(|t| t.0),
                _ => {
                    if map.next_value::<IsSet>()?.0 {
                        request.other.push(key);
                    }
                }
            }
        }
        request.prompt = prompt.ok_or_else(|| A::Error::missing_field("prompt"))?;
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/kong-ai-proxy"
    );

    #[test]
    fn kong_completion_fixtures() {
        for path in [
            "openai/llm-v1-completions/requests/good.json",
            "unit/requests/llm-v1-completions.json",
        ] {
            let body = std::fs::read(format!("{FIXTURES}/{path}")).unwrap();
            let expected: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let request = CompletionRequest::parse(&body).unwrap();
            assert_eq!(
                Some(request.single_prompt("p").unwrap()),
                expected["prompt"].as_str(),
                "{path}"
            );
            assert_eq!(request.max_tokens, expected["max_tokens"].as_u64());
        }
    }

    #[test]
    fn fields_and_other_names() {
        let body = br#"{"model":"m","prompt":["Say hi"],"max_tokens":5,"temperature":0,"top_p":1,
            "stop":["\n"],"seed":3,"stream":true,"stream_options":{"include_usage":true},
            "n":1,"user":"u","echo":true,"suffix":null,"logprobs":2}"#;
        let request = CompletionRequest::parse(body).unwrap();
        assert_eq!(request.single_prompt("p").unwrap(), "Say hi");
        assert_eq!(request.stop, vec!["\n"]);
        assert_eq!(request.other, vec!["echo", "logprobs"]);
        assert_eq!(
            request.stream_options.and_then(|o| o.include_usage),
            Some(true)
        );
    }

    #[test]
    fn prompts_a_provider_cannot_take_are_400s() {
        let several = CompletionRequest::parse(br#"{"prompt":["a","b"]}"#).unwrap();
        assert_eq!(
            several
                .single_prompt("cohere")
                .unwrap_err()
                .message
                .as_str(),
            "several prompts in one request are not supported by provider cohere"
        );
        let tokens = CompletionRequest::parse(br#"{"prompt":[1,2]}"#).unwrap();
        assert_eq!(
            tokens.single_prompt("cohere").unwrap_err().message.as_str(),
            "prompts given as token ids are not supported by provider cohere"
        );
        let error = CompletionRequest::parse(br#"{"model":"m"}"#).unwrap_err();
        assert_eq!(
            error.message.as_str(),
            "request body: missing field `prompt`"
        );
    }
}
