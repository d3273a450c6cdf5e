//! Readers for the request fields that chat, completions and embeddings share, and the parse
//! entry point that turns a serde failure into a 400 naming the field.

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::abi::ModuleError;

/// Parses a client body into a translator's request type. The happy path is one plain serde
/// pass; only a failing body is parsed again with path tracking, so that the 400 says which field
/// is wrong (`messages[2].role: …`) at no cost to good requests.
pub(crate) fn parse_body<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ModuleError> {
    let first = match crate::json_bytes::from_bytes(body) {
        Ok(request) => return Ok(request),
        Err(e) => e,
    };
    if !first.is_data() {
        return Err(ModuleError::invalid_request(format!(
            "request body is not valid JSON: {first}"
        )));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let error = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(_) => first,
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." {
                return Err(ModuleError::invalid_request(format!(
                    "request body: {}",
                    without_position(&inner)
                )));
            }
            return Err(ModuleError::invalid_request(format!(
                "{path}: {}",
                without_position(&inner)
            )));
        }
    };
    Err(ModuleError::invalid_request(without_position(&error)))
}

/// serde_json's message without its " at line L column C" suffix, which means nothing to a
/// client that sent one line of JSON.
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

/// Whether a field's value is anything but `null`; the value itself is skipped.
pub(crate) struct IsSet(pub(crate) bool);

impl<'de> Deserialize<'de> for IsSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IsSetVisitor)
    }
}

struct IsSetVisitor;

impl<'de> Visitor<'de> for IsSetVisitor {
    type Value = IsSet;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(IsSet(false))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(IsSet(true))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(IsSet(true))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(IsSet(true))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(IsSet(true))
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(IsSet(true))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(IsSet(true))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(IsSet(true))
    }
}

/// `stop`: one string or a list of them, as a list. `null` is an empty list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StopSequences<'a>(pub(crate) Vec<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for StopSequences<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StopVisitor(std::marker::PhantomData))
    }
}

struct StopVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for StopVisitor<'a> {
    type Value = StopSequences<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string or an array of strings")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(StopSequences::default())
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(StopSequences(vec![Cow::Borrowed(v)]))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(StopSequences(vec![Cow::Owned(v.to_owned())]))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut stops = Vec::new();
        while let Some(Text(stop)) = seq.next_element()? {
            stops.push(stop);
        }
        Ok(StopSequences(stops))
    }
}

/// A JSON string, borrowed unless it had escapes. (serde's own `Cow<str>` always copies.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor(std::marker::PhantomData))
    }
}

struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Text<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_owned())))
    }
}

/// For `#[serde(deserialize_with)]` on `Option<Cow<str>>` fields, which serde's derive would
/// otherwise copy.
pub(crate) fn optional_text<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    Option::<Text<'a>>::deserialize(deserializer).map(|text| text.map(|t| t.0))
}

/// `stream_options`; only `include_usage` matters to a translator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub struct StreamOptions {
    #[serde(default)]
    pub include_usage: Option<bool>,
}

/// Text a model reads: a completion's `prompt` or an embeddings `input`. OpenAI accepts one
/// string, a list of strings, or pre-tokenized input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextInput<'a> {
    Text(Cow<'a, str>),
    Texts(Vec<Cow<'a, str>>),
    /// One input as token ids.
    Tokens(Vec<u32>),
    /// Several inputs as token ids.
    TokenArrays(Vec<Vec<u32>>),
}

impl<'a> TextInput<'a> {
    /// The inputs as text; `None` when they are token ids, which only OpenAI's own tokenizer
    /// gives meaning to.
    pub fn texts(&self) -> Option<Vec<&str>> {
        match self {
            TextInput::Text(text) => Some(vec![text.as_ref()]),
            TextInput::Texts(texts) => Some(texts.iter().map(Cow::as_ref).collect()),
            TextInput::Tokens(_) | TextInput::TokenArrays(_) => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for TextInput<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextInputVisitor(std::marker::PhantomData))
    }
}

struct TextInputVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextInputVisitor<'a> {
    type Value = TextInput<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "a string, an array of strings, an array of token ids or an array of token arrays",
        )
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(TextInput::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(TextInput::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut input = TextInput::Texts(Vec::new());
        let mut first = true;
        while let Some(item) = seq.next_element::<InputItem<'a>>()? {
            match (&mut input, item) {
                (TextInput::Texts(texts), InputItem::Text(text)) => texts.push(text),
                (TextInput::Tokens(tokens), InputItem::Token(token)) => tokens.push(token),
                (TextInput::TokenArrays(arrays), InputItem::Tokens(tokens)) => arrays.push(tokens),
                (_, InputItem::Token(token)) if first => input = TextInput::Tokens(vec![token]),
                (_, InputItem::Tokens(tokens)) if first => {
                    input = TextInput::TokenArrays(vec![tokens])
                }
                _ => return Err(A::Error::custom("array elements must all be of one kind")),
            }
            first = false;
        }
        Ok(input)
    }
}

enum InputItem<'a> {
    Text(Cow<'a, str>),
    Token(u32),
    Tokens(Vec<u32>),
}

impl<'de: 'a, 'a> Deserialize<'de> for InputItem<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(InputItemVisitor(std::marker::PhantomData))
    }
}

struct InputItemVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for InputItemVisitor<'a> {
    type Value = InputItem<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string, a token id or an array of token ids")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(InputItem::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(InputItem::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_u64<E: Error>(self, v: u64) -> Result<Self::Value, E> {
        u32::try_from(v)
            .map(InputItem::Token)
            .map_err(|_| E::custom(format!("token id {v} is out of range")))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Vec::<u32>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
            .map(InputItem::Tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> Result<TextInput<'_>, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn text_input_forms() {
        assert_eq!(input(r#""hi""#).unwrap(), TextInput::Text("hi".into()));
        assert!(matches!(
            input(r#""hi""#).unwrap(),
            TextInput::Text(Cow::Borrowed(_))
        ));
        assert_eq!(
            input(r#"["a","b\n"]"#).unwrap(),
            TextInput::Texts(vec!["a".into(), "b\n".into()])
        );
        assert_eq!(input("[1,2]").unwrap(), TextInput::Tokens(vec![1, 2]));
        assert_eq!(
            input("[[1],[2,3]]").unwrap(),
            TextInput::TokenArrays(vec![vec![1], vec![2, 3]])
        );
        assert_eq!(input("[]").unwrap(), TextInput::Texts(vec![]));
        assert_eq!(input(r#"["a","b"]"#).unwrap().texts(), Some(vec!["a", "b"]));
        assert_eq!(input("[1]").unwrap().texts(), None);
    }

    #[test]
    fn mixed_or_wrong_input_is_refused() {
        for bad in [
            r#"["a",1]"#,
            r#"[1,"a"]"#,
            "[[1],2]",
            "[1.5]",
            "[-1]",
            "[4294967296]",
            "{}",
            "3",
        ] {
            assert!(input(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stop_is_a_list() {
        let stop = |json| serde_json::from_str::<StopSequences<'_>>(json).unwrap().0;
        assert_eq!(stop(r#""\n""#), vec!["\n"]);
        assert_eq!(stop(r#"["a","b"]"#), vec!["a", "b"]);
        assert!(matches!(stop(r#"["a"]"#)[0], Cow::Borrowed(_)));
        assert!(stop("null").is_empty());
        assert!(serde_json::from_str::<StopSequences<'_>>("[1]").is_err());
    }

    #[test]
    fn parse_errors_name_the_field_without_a_position() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Body {
            items: Vec<Item>,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Item {
            n: u8,
        }
        let error = parse_body::<Body>(br#"{"items":[{"n":1},{"n":"x"}]}"#).unwrap_err();
        assert_eq!(error.status, 400);
        assert_eq!(
            error.message.as_str(),
            "items[1].n: invalid type: string \"x\", expected u8"
        );
        let error = parse_body::<Body>(b"5").unwrap_err();
        assert_eq!(
            error.message.as_str(),
            "request body: invalid type: integer `5`, expected struct Body"
        );
        let error = parse_body::<Body>(b"{").unwrap_err();
        assert!(error
            .message
            .starts_with("request body is not valid JSON: EOF"));
    }
}
