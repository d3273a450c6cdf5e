//! A field whose shape depends on the event that carries it.
//!
//! In Cohere's v2 stream, `delta.message.content` and `delta.message.tool_calls` are arrays in
//! `message-start` and objects in `content-delta` or `tool-call-start`. Reading every event with
//! one struct keeps it to one pass over the JSON; [`IfObject`] reads the object form and skips the
//! others.

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// `Some` when the value is an object of shape `T`; `None` for any other JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfObject<T>(pub Option<T>);

impl<T> Default for IfObject<T> {
    fn default() -> Self {
        IfObject(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for IfObject<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IfObjectVisitor(std::marker::PhantomData))
    }
}

struct IfObjectVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for IfObjectVisitor<T> {
    type Value = IfObject<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(|value| IfObject(Some(value)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(IfObject(None))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(IfObject(None))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(IfObject(None))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(IfObject(None))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(IfObject(None))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(IfObject(None))
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(IfObject(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Text<'a> {
        text: &'a str,
    }

    #[test]
    fn objects_are_read_and_other_values_skipped() {
        let read = |json| serde_json::from_str::<IfObject<Text<'_>>>(json).unwrap().0;
        assert_eq!(read(r#"{"text":"hi"}"#), Some(Text { text: "hi" }));
        for other in ["[]", r#"[{"text":"x"}]"#, "null", "1", "true", r#""s""#] {
            assert_eq!(read(other), None, "{other}");
        }
        assert!(serde_json::from_str::<IfObject<Text<'_>>>(r#"{"text":1}"#).is_err());
    }
}
