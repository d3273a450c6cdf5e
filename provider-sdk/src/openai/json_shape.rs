//! The shape of a request field, read in the same single pass that skims the body.
//!
//! Validation needs to know a field's JSON kind, and for arrays a few facts about their elements
//! (is every message an object with a string `role`, is a prompt made of strings or tokens), but
//! never the content itself. These visitors accept every kind of JSON value, so a wrong type is a
//! fact to report with the field's name rather than a serde error, and skip everything nested
//! deeper than the facts need.

use std::borrow::Cow;

use serde::de::{
    Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use crate::json_edit::ObjectKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    /// A number written without fraction or exponent.
    Integer,
    Float,
    String,
    Array,
    Object,
}

/// A top-level field's value.
#[derive(Debug, Clone)]
pub(crate) struct FieldShape<'a> {
    pub(crate) kind: Kind,
    /// The decoded string, when the field is a string and its text was asked for.
    pub(crate) text: Option<Cow<'a, str>>,
    /// Facts about the elements, when the field is an array.
    pub(crate) elements: ElementFacts,
    /// The kind of the `include_usage` member, when the field is an object that has one.
    pub(crate) include_usage: Option<Kind>,
    /// The value, when the field is a number.
    pub(crate) number: Option<Number>,
}

/// A number as JSON wrote it: an integer keeps its exact value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    Unsigned(u64),
    Negative(i64),
    Float(f64),
}

impl Number {
    pub(crate) fn as_u64(self) -> Option<u64> {
        match self {
            Number::Unsigned(n) => Some(n),
            Number::Negative(_) | Number::Float(_) => None,
        }
    }

    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Number::Unsigned(n) => n as f64,
            Number::Negative(n) => n as f64,
            Number::Float(f) => f,
        }
    }
}

/// What the elements of an array are, as far as validation cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ElementFacts {
    pub(crate) count: usize,
    /// The first element that is not an object.
    pub(crate) first_non_object: Option<usize>,
    /// The first object element whose `role` is missing (`None`) or not a string.
    pub(crate) first_bad_role: Option<(usize, Option<Kind>)>,
    pub(crate) all_strings: bool,
    pub(crate) all_integers: bool,
    /// Every element is an array of integers (OpenAI's "array of token arrays").
    pub(crate) all_integer_arrays: bool,
}

impl Default for ElementFacts {
    fn default() -> ElementFacts {
        ElementFacts {
            count: 0,
            first_non_object: None,
            first_bad_role: None,
            all_strings: true,
            all_integers: true,
            all_integer_arrays: true,
        }
    }
}

/// Reads one top-level field value; `keep_text` asks for a string's decoded text (which costs a
/// copy when the string has escapes).
pub(crate) struct FieldSeed {
    pub(crate) keep_text: bool,
}

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = FieldShape<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(FieldVisitor {
            keep_text: self.keep_text,
        })
    }
}

struct FieldVisitor {
    keep_text: bool,
}

impl FieldVisitor {
    fn of<'a>(kind: Kind) -> FieldShape<'a> {
        FieldShape {
            kind,
            text: None,
            elements: ElementFacts::default(),
            include_usage: None,
            number: None,
        }
    }

    fn number<'a>(kind: Kind, number: Number) -> FieldShape<'a> {
        FieldShape {
            number: Some(number),
            ..Self::of(kind)
        }
    }
}

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = FieldShape<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Self::of(Kind::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Self::number(Kind::Integer, Number::Negative(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Self::number(Kind::Integer, Number::Unsigned(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Self::number(Kind::Float, Number::Float(v)))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        let mut shape = Self::of(Kind::String);
        if self.keep_text {
            shape.text = Some(Cow::Borrowed(v));
        }
        Ok(shape)
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        let mut shape = Self::of(Kind::String);
        if self.keep_text {
            shape.text = Some(Cow::Owned(v.to_owned()));
        }
        Ok(shape)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Self::of(Kind::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut facts = ElementFacts::default();
        while let Some(element) = seq.next_element::<ElementShape>()? {
            let index = facts.count;
            facts.count += 1;
            if element.kind != Kind::Object && facts.first_non_object.is_none() {
                facts.first_non_object = Some(index);
            }
            if element.kind == Kind::Object
                && element.role != Some(Kind::String)
                && facts.first_bad_role.is_none()
            {
                facts.first_bad_role = Some((index, element.role));
            }
            facts.all_strings &= element.kind == Kind::String;
            facts.all_integers &= element.kind == Kind::Integer;
            facts.all_integer_arrays &= element.kind == Kind::Array && element.all_integers;
        }
        let mut shape = Self::of(Kind::Array);
        shape.elements = facts;
        Ok(shape)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut shape = Self::of(Kind::Object);
        while let Some(ObjectKey(key)) = map.next_key()? {
            if key == "include_usage" {
                shape.include_usage = Some(map.next_value::<KindOnly>()?.0);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(shape)
    }
}

/// An element of a top-level array: its kind, its `role` if it is an object, and whether it is an
/// array of integers.
struct ElementShape {
    kind: Kind,
    role: Option<Kind>,
    all_integers: bool,
}

impl ElementShape {
    fn of(kind: Kind) -> ElementShape {
        ElementShape {
            kind,
            role: None,
            all_integers: false,
        }
    }
}

impl<'de> Deserialize<'de> for ElementShape {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ElementVisitor)
    }
}

struct ElementVisitor;

impl<'de> Visitor<'de> for ElementVisitor {
    type Value = ElementShape;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(ElementShape::of(Kind::Bool(v)))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(ElementShape::of(Kind::Integer))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(ElementShape::of(Kind::Integer))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(ElementShape::of(Kind::Float))
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(ElementShape::of(Kind::String))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(ElementShape::of(Kind::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut all_integers = true;
        while let Some(KindOnly(kind)) = seq.next_element()? {
            all_integers &= kind == Kind::Integer;
        }
        Ok(ElementShape {
            kind: Kind::Array,
            role: None,
            all_integers,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut shape = ElementShape::of(Kind::Object);
        while let Some(ObjectKey(key)) = map.next_key()? {
            if key == "role" {
                shape.role = Some(map.next_value::<KindOnly>()?.0);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(shape)
    }
}

/// Only the kind of a value; anything nested is skipped.
struct KindOnly(Kind);

impl<'de> Deserialize<'de> for KindOnly {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = KindOnly;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(KindOnly(Kind::Bool(v)))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(KindOnly(Kind::Integer))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(KindOnly(Kind::Integer))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(KindOnly(Kind::Float))
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(KindOnly(Kind::String))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(KindOnly(Kind::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(KindOnly(Kind::Array))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(KindOnly(Kind::Object))
    }
}
