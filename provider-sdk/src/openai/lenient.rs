//! Readers for values an upstream should send with one type but might not: a wrong type reads as
//! "not reported" instead of failing the whole response. A gateway that meters traffic must not
//! turn an odd but usable response (say, a numeric `id` from a self-hosted server) into an error.

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Implements the listed `Visitor` methods so that those kinds of JSON value produce `$fallback`,
/// skipping any nested content.
macro_rules! other_kinds_give {
    ($fallback:expr; $($kind:ident),+) => {
        $(other_kinds_give!(@one $kind $fallback);)+
    };
    (@one bool $fallback:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($fallback)
        }
    };
    (@one i64 $fallback:expr) => {
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($fallback)
        }
    };
    (@one u64 $fallback:expr) => {
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($fallback)
        }
    };
    (@one f64 $fallback:expr) => {
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($fallback)
        }
    };
    (@one str $fallback:expr) => {
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($fallback)
        }
    };
    (@one unit $fallback:expr) => {
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($fallback)
        }
    };
    (@one seq $fallback:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($fallback)
        }
    };
    (@one map $fallback:expr) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($fallback)
        }
    };
}

pub(crate) use other_kinds_give;

/// A string, borrowed unless it had escapes; any other kind reads as `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LenientStr<'a>(pub(crate) Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for LenientStr<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LenientStrVisitor(std::marker::PhantomData))
    }
}

struct LenientStrVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for LenientStrVisitor<'a> {
    type Value = LenientStr<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(LenientStr(Some(Cow::Borrowed(v))))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(LenientStr(Some(Cow::Owned(v.to_owned()))))
    }

    other_kinds_give!(LenientStr(None); bool, i64, u64, f64, unit, seq, map);
}

/// A token count: a non-negative integer, also when written as `12.0`; anything else reads as
/// `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LenientCount(pub(crate) Option<u64>);

impl<'de> Deserialize<'de> for LenientCount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LenientCountVisitor)
    }
}

struct LenientCountVisitor;

impl<'de> Visitor<'de> for LenientCountVisitor {
    type Value = LenientCount;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(LenientCount(Some(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(LenientCount(u64::try_from(v).ok()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        let whole = v >= 0.0 && v.fract() == 0.0 && v <= u64::MAX as f64;
        // The cast is exact: `v` is a whole number within u64's range.
        Ok(LenientCount(whole.then_some(v as u64)))
    }

    other_kinds_give!(LenientCount(None); bool, str, unit, seq, map);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(json: &str) -> Option<String> {
        serde_json::from_str::<LenientStr<'_>>(json)
            .unwrap()
            .0
            .map(Cow::into_owned)
    }

    fn count(json: &str) -> Option<u64> {
        serde_json::from_str::<LenientCount>(json).unwrap().0
    }

    #[test]
    fn strings_read_and_other_kinds_are_none() {
        assert_eq!(text(r#""gpt-4""#).as_deref(), Some("gpt-4"));
        assert_eq!(text(r#""a\"b""#).as_deref(), Some("a\"b"));
        for other in ["null", "1", "-1", "1.5", "true", "[\"x\"]", "{\"a\":\"b\"}"] {
            assert_eq!(text(other), None, "{other}");
        }
    }

    #[test]
    fn counts_accept_whole_non_negative_numbers_only() {
        assert_eq!(count("25"), Some(25));
        assert_eq!(count("12.0"), Some(12));
        assert_eq!(count("18446744073709551615"), Some(u64::MAX));
        for other in ["-1", "1.5", "1e30", "\"3\"", "null", "true", "[1]", "{}"] {
            assert_eq!(count(other), None, "{other}");
        }
    }
}
