//! A client's embeddings request (`POST /v1/embeddings`) as translators read it.

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, Error, MapAccess, Visitor};

use super::fields::{parse_body, IsSet, Text, TextInput};
use crate::abi::ModuleError;
use crate::json_edit::ObjectKey;

#[derive(Debug, Clone)]
pub struct EmbeddingsRequest<'a> {
    pub model: Option<Cow<'a, str>>,
    pub input: TextInput<'a>,
    pub encoding_format: EncodingFormat,
    pub dimensions: Option<u64>,
    pub user: Option<Cow<'a, str>>,
    /// The names of every other top-level field set to something other than `null`.
    pub other: Vec<Cow<'a, str>>,
}

/// How the client wants each vector written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EncodingFormat {
    /// A JSON array of numbers (OpenAI's default).
    #[default]
    Float,
    /// The little-endian `f32`s, base64-encoded.
    Base64,
}

impl<'a> EmbeddingsRequest<'a> {
    pub fn parse(body: &'a [u8]) -> Result<EmbeddingsRequest<'a>, ModuleError> {
        parse_body(body)
    }

    /// The inputs as texts; token ids are a 400, since they mean nothing outside OpenAI's
    /// tokenizer.
    pub fn texts(&self, provider: &str) -> Result<Vec<&str>, ModuleError> {
        self.input.texts().ok_or_else(|| {
            ModuleError::invalid_request(format!(
                "inputs given as token ids are not supported by provider {provider}"
            ))
        })
    }
}

impl<'de> Deserialize<'de> for EncodingFormat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Text(format) = Text::deserialize(deserializer)?;
        match format.as_ref() {
            "float" => Ok(EncodingFormat::Float),
            "base64" => Ok(EncodingFormat::Base64),
            other => Err(D::Error::unknown_variant(other, &["float", "base64"])),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for EmbeddingsRequest<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EmbeddingsVisitor(std::marker::PhantomData))
    }
}

struct EmbeddingsVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for EmbeddingsVisitor<'a> {
    type Value = EmbeddingsRequest<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an embeddings request object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut input = None;
        let mut model = None;
        let mut encoding_format = EncodingFormat::default();
        let mut dimensions = None;
        let mut user = None;
        let mut other = Vec::new();
        while let Some(ObjectKey(key)) = map.next_key()? {
            match key.as_ref() {
                "model" => model = map.next_value::<Option<Text<'a>>>()?.map(|t| t.0),
                "input" => input = Some(map.next_value()?),
                "encoding_format" => {
                    encoding_format = map.next_value::<Option<_>>()?.unwrap_or_default()
                }
                "dimensions" => dimensions = map.next_value()?,
                "user" => user = map.next_value::<Option<Text<'a>>>()?.map(|t| t.0),
                _ => {
                    if map.next_value::<IsSet>()?.0 {
                        other.push(key);
                    }
                }
            }
        }
        Ok(EmbeddingsRequest {
            model,
            input: input.ok_or_else(|| A::Error::missing_field("input"))?,
            encoding_format,
            dimensions,
            user,
            other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read() {
        let body = br#"{"model":"text-embedding-3-small","input":["a","b"],"encoding_format":"base64","dimensions":256,"user":"u","x":1}"#;
        let request = EmbeddingsRequest::parse(body).unwrap();
        assert_eq!(request.model.as_deref(), Some("text-embedding-3-small"));
        assert_eq!(request.texts("p").unwrap(), vec!["a", "b"]);
        assert_eq!(request.encoding_format, EncodingFormat::Base64);
        assert_eq!(request.dimensions, Some(256));
        assert_eq!(request.user.as_deref(), Some("u"));
        assert_eq!(request.other, vec!["x"]);
    }

    #[test]
    fn float_is_the_default_and_null_means_default() {
        for body in [
            &br#"{"input":"a"}"#[..],
            br#"{"input":"a","encoding_format":null}"#,
            br#"{"input":"a","encoding_format":"float"}"#,
        ] {
            assert_eq!(
                EmbeddingsRequest::parse(body).unwrap().encoding_format,
                EncodingFormat::Float
            );
        }
        let error =
            EmbeddingsRequest::parse(br#"{"input":"a","encoding_format":"int8"}"#).unwrap_err();
        assert_eq!(
            error.message.as_str(),
            "encoding_format: unknown variant `int8`, expected `float` or `base64`"
        );
    }

    #[test]
    fn token_inputs_are_refused_by_text_providers() {
        let request = EmbeddingsRequest::parse(br#"{"input":[[1,2],[3]]}"#).unwrap();
        assert_eq!(
            request.texts("cohere").unwrap_err().message.as_str(),
            "inputs given as token ids are not supported by provider cohere"
        );
        let error = EmbeddingsRequest::parse(br#"{"model":"m"}"#).unwrap_err();
        assert_eq!(
            error.message.as_str(),
            "request body: missing field `input`"
        );
    }
}
