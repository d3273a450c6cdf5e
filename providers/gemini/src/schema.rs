//! JSON Schema, as clients write tool parameters and `response_format.json_schema`, converted to
//! Gemini's `Schema`, an OpenAPI 3.0 subset (the same on the Gemini API and Vertex AI).
//!
//! | JSON Schema | Gemini `Schema` |
//! |---|---|
//! | `type: "object"` (and the other six) | `type: "OBJECT"` (upper case, as the `Type` enum is written) |
//! | `type: [T, "null"]` | `type: T`, `nullable: true` |
//! | `type: [T, U]` | `anyOf: [{type: T}, {type: U}]` |
//! | no `type` | `OBJECT` with `properties`, `ARRAY` with `items`, `STRING` with `enum`/`const`, else none |
//! | `enum` of strings (`null` among them: `nullable`) | `enum` |
//! | `const` string | `enum: [value]` |
//! | `anyOf`, `oneOf` | `anyOf` (Gemini has no exclusive choice) |
//! | `allOf` with one schema, `$ref` to `#/$defs/…` or `#/definitions/…` | the schema inlined, the referring schema's own keywords on top |
//! | `properties`, `required`, `items`, `title`, `description`, `nullable`, `minimum`, `maximum`, `pattern`, `default`, `example`, `propertyOrdering` | the same |
//! | `minItems`, `maxItems`, `minLength`, `maxLength`, `minProperties`, `maxProperties` | the same, as proto3 JSON writes 64-bit integers (decimal strings) |
//! | `format` | kept where Gemini accepts it (`enum`, `date-time` on strings; `int32`, `int64` on integers; `float`, `double` on numbers), dropped elsewhere: Gemini answers 400 to any other |
//!
//! Dropped, as Gemini refuses them and they only annotate or close the schema:
//! `$schema`, `$id`, `$anchor`, `$comment`, `$defs`/`definitions` (once inlined),
//! `additionalProperties`, `unevaluatedProperties`, `examples`, `readOnly`, `writeOnly`,
//! `deprecated`, `strict`, `contentEncoding`, `contentMediaType`, and `x-…` extensions.
//!
//! Refused with a 400 naming the keyword and where it is, since dropping it would change what the
//! schema allows: every other keyword (`not`, `if`, `patternProperties`, `prefixItems`,
//! `uniqueItems`, `multipleOf`, `exclusiveMinimum`, …), `allOf` with several schemas, a `$ref`
//! that is not local or that recurses, enums of other values than strings, tuple `items`, and
//! the schema `false`.

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;

use crate::text::{error_message, BorrowedText};

/// How many `$ref`s may be followed inside one another: enough for any real model of data, and
/// a stop for a schema that refers to itself, which Gemini cannot express.
const MAX_REF_DEPTH: usize = 16;

const DROPPED_KEYWORDS: &[&str] = &[
    "$schema",
    "$id",
    "$anchor",
    "$comment",
    "additionalProperties",
    "unevaluatedProperties",
    "examples",
    "readOnly",
    "writeOnly",
    "deprecated",
    "strict",
    "contentEncoding",
    "contentMediaType",
];

/// A JSON Schema as the client wrote it, borrowed from the request.
#[derive(Debug, Clone, Default)]
pub struct JsonSchema<'a> {
    types: Vec<Cow<'a, str>>,
    format: Option<Cow<'a, str>>,
    title: Option<Cow<'a, str>>,
    description: Option<Cow<'a, str>>,
    nullable: Option<bool>,
    enum_values: Option<Vec<&'a RawValue>>,
    const_value: Option<&'a RawValue>,
    items: Option<Box<JsonSchema<'a>>>,
    properties: Vec<(Cow<'a, str>, JsonSchema<'a>)>,
    required: Vec<Cow<'a, str>>,
    any_of: Vec<JsonSchema<'a>>,
    all_of: Vec<JsonSchema<'a>>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    min_properties: Option<u64>,
    max_properties: Option<u64>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    pattern: Option<Cow<'a, str>>,
    default: Option<&'a RawValue>,
    example: Option<&'a RawValue>,
    property_ordering: Vec<Cow<'a, str>>,
    reference: Option<Cow<'a, str>>,
    /// `$defs` and `definitions` members, by the reference that names them (`#/$defs/Name`).
    definitions: Vec<(String, JsonSchema<'a>)>,
    /// Keywords Gemini cannot honour, refused when the schema is converted.
    refused: Vec<Cow<'a, str>>,
}

/// Gemini's `Schema`, borrowing from the [`JsonSchema`] it was made from.
#[derive(Debug, Clone, Default)]
pub struct GeminiSchema<'a> {
    kind: Option<&'static str>,
    format: Option<&'a str>,
    title: Option<&'a str>,
    description: Option<&'a str>,
    nullable: Option<bool>,
    enum_values: Vec<Cow<'a, str>>,
    items: Option<Box<GeminiSchema<'a>>>,
    properties: Vec<(&'a str, GeminiSchema<'a>)>,
    required: Vec<&'a str>,
    any_of: Vec<GeminiSchema<'a>>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    min_properties: Option<u64>,
    max_properties: Option<u64>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    pattern: Option<&'a str>,
    default: Option<&'a RawValue>,
    example: Option<&'a RawValue>,
    property_ordering: Vec<&'a str>,
}

/// Why a schema cannot be converted, and where in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// Outermost first, e.g. `["properties", "city", "not"]`.
    path: Vec<String>,
    problem: String,
}

impl SchemaError {
    fn new(problem: impl Into<String>) -> SchemaError {
        SchemaError {
            path: Vec::new(),
            problem: problem.into(),
        }
    }

    fn within(mut self, segment: impl Into<String>) -> SchemaError {
        self.path.insert(0, segment.into());
        self
    }

    /// The 400 for the schema found at `location` (e.g. `tools[0].function.parameters`).
    pub fn at(&self, location: &str) -> provider_sdk::abi::ModuleError {
        let mut place = location.to_owned();
        for segment in &self.path {
            place.push('.');
            place.push_str(segment);
        }
        provider_sdk::abi::ModuleError::invalid_request(format!("{place}: {}", self.problem))
    }
}

impl<'a> JsonSchema<'a> {
    /// Reads a schema; a value that is not one is a [`SchemaError`].
    pub fn parse(raw: &'a RawValue) -> Result<JsonSchema<'a>, SchemaError> {
        serde_json::from_str(raw.get()).map_err(|e| SchemaError::new(error_message(&e)))
    }

    /// Converts the schema (see the table at the top of this file).
    pub fn to_gemini(&self) -> Result<GeminiSchema<'_>, SchemaError> {
        convert(self, self, 0)
    }
}

impl GeminiSchema<'_> {
    /// An object schema with no properties (or a schema that says nothing, `{}`), which Gemini
    /// refuses as a function's parameters ("properties: should be non-empty for OBJECT type");
    /// such a function takes no arguments.
    pub fn takes_no_arguments(&self) -> bool {
        matches!(self.kind, None | Some("OBJECT"))
            && self.properties.is_empty()
            && self.any_of.is_empty()
    }
}

fn convert<'s>(
    schema: &'s JsonSchema<'s>,
    root: &'s JsonSchema<'s>,
    ref_depth: usize,
) -> Result<GeminiSchema<'s>, SchemaError> {
    if let Some(keyword) = schema.refused.first() {
        return Err(match keyword.as_ref() {
            "false" => {
                SchemaError::new("the schema `false` accepts nothing, which Gemini cannot express")
            }
            "items" => SchemaError::new(
                "`items` as a list of schemas (a tuple) is not supported by provider gemini",
            )
            .within("items"),
            keyword => SchemaError::new(format!(
                "JSON Schema keyword `{keyword}` is not supported by provider gemini"
            ))
            .within(keyword.to_owned()),
        });
    }
    let base = match (&schema.reference, schema.all_of.as_slice()) {
        (Some(reference), []) => Some(resolve(reference, root, ref_depth)?),
        (None, [only]) => Some(convert(only, root, ref_depth).map_err(|e| e.within("allOf[0]"))?),
        (None, []) => None,
        (Some(_), _) => {
            return Err(SchemaError::new(
                "`$ref` beside `allOf` is not supported by provider gemini",
            ))
        }
        (None, _) => {
            return Err(SchemaError::new(
                "`allOf` with several schemas is not supported by provider gemini",
            )
            .within("allOf"))
        }
    };
    let own = convert_own(schema, root, ref_depth)?;
    Ok(match base {
        Some(base) => own.over(base),
        None => own,
    })
}

/// The schema `reference` points to, converted.
fn resolve<'s>(
    reference: &str,
    root: &'s JsonSchema<'s>,
    ref_depth: usize,
) -> Result<GeminiSchema<'s>, SchemaError> {
    let name = ["#/$defs/", "#/definitions/"]
        .iter()
        .find_map(|prefix| reference.strip_prefix(prefix))
        .ok_or_else(|| {
            SchemaError::new(format!(
                "`$ref` {reference:?} is not supported by provider gemini: only references to \
                 #/$defs/… and #/definitions/… of the same schema are inlined"
            ))
            .within("$ref")
        })?;
    if ref_depth >= MAX_REF_DEPTH {
        return Err(SchemaError::new(format!(
            "`$ref` {reference:?} nests more than {MAX_REF_DEPTH} deep; a recursive schema is \
             not supported by provider gemini"
        ))
        .within("$ref"));
    }
    let target = root
        .definitions
        .iter()
        .rev()
        .find(|(defined, _)| defined == reference)
        .map(|(_, schema)| schema)
        .ok_or_else(|| {
            SchemaError::new(format!("`$ref` {reference:?} names no definition")).within("$ref")
        })?;
    convert(target, root, ref_depth + 1).map_err(|e| e.within(format!("$ref({name})")))
}

/// The schema's own keywords, without `$ref` and `allOf`.
fn convert_own<'s>(
    schema: &'s JsonSchema<'s>,
    root: &'s JsonSchema<'s>,
    ref_depth: usize,
) -> Result<GeminiSchema<'s>, SchemaError> {
    let mut nullable = schema.nullable;
    let mut kinds = Vec::with_capacity(schema.types.len());
    for name in &schema.types {
        match gemini_type(name) {
            Some("NULL") if schema.types.len() > 1 => nullable = Some(true),
            Some(kind) => kinds.push(kind),
            None => return Err(SchemaError::new(format!("unknown type {name:?}")).within("type")),
        }
    }
    let mut enum_values = Vec::new();
    if let Some(values) = &schema.enum_values {
        for (index, raw) in values.iter().enumerate() {
            if raw.get() == "null" {
                nullable = Some(true);
                continue;
            }
            enum_values.push(enum_string(raw).map_err(|e| e.within(format!("enum[{index}]")))?);
        }
    }
    if let Some(raw) = schema.const_value {
        enum_values.push(enum_string(raw).map_err(|e| e.within("const"))?);
    }
    let mut any_of = Vec::with_capacity(schema.any_of.len());
    for (index, choice) in schema.any_of.iter().enumerate() {
        any_of.push(
            convert(choice, root, ref_depth).map_err(|e| e.within(format!("anyOf[{index}]")))?,
        );
    }
    let kind = match kinds.as_slice() {
        [] if !schema.properties.is_empty() => Some("OBJECT"),
        [] if schema.items.is_some() => Some("ARRAY"),
        [] if !enum_values.is_empty() => Some("STRING"),
        [] => None,
        [one] => Some(*one),
        several => {
            any_of.extend(several.iter().map(|kind| GeminiSchema {
                kind: Some(kind),
                ..GeminiSchema::default()
            }));
            None
        }
    };
    let items = match &schema.items {
        Some(items) => Some(Box::new(
            convert(items, root, ref_depth).map_err(|e| e.within("items"))?,
        )),
        None => None,
    };
    let mut properties = Vec::with_capacity(schema.properties.len());
    for (name, property) in &schema.properties {
        let converted = convert(property, root, ref_depth)
            .map_err(|e| e.within(format!("properties.{name}")))?;
        properties.push((name.as_ref(), converted));
    }
    Ok(GeminiSchema {
        kind,
        format: schema
            .format
            .as_deref()
            .filter(|format| format_is_accepted(kind, format)),
        title: schema.title.as_deref(),
        description: schema.description.as_deref(),
        nullable,
        enum_values,
        items,
        properties,
        required: schema.required.iter().map(Cow::as_ref).collect(),
        any_of,
        min_items: schema.min_items,
        max_items: schema.max_items,
        min_length: schema.min_length,
        max_length: schema.max_length,
        min_properties: schema.min_properties,
        max_properties: schema.max_properties,
        minimum: schema.minimum,
        maximum: schema.maximum,
        pattern: schema.pattern.as_deref(),
        default: schema.default,
        example: schema.example,
        property_ordering: schema.property_ordering.iter().map(Cow::as_ref).collect(),
    })
}

fn gemini_type(name: &str) -> Option<&'static str> {
    Some(match name {
        "string" => "STRING",
        "number" => "NUMBER",
        "integer" => "INTEGER",
        "boolean" => "BOOLEAN",
        "array" => "ARRAY",
        "object" => "OBJECT",
        "null" => "NULL",
        _ => return None,
    })
}

fn format_is_accepted(kind: Option<&str>, format: &str) -> bool {
    matches!(
        (kind, format),
        (Some("STRING"), "enum" | "date-time")
            | (Some("INTEGER"), "int32" | "int64")
            | (Some("NUMBER"), "float" | "double")
    )
}

fn enum_string(raw: &RawValue) -> Result<Cow<'_, str>, SchemaError> {
    serde_json::from_str::<BorrowedText<'_>>(raw.get())
        .map(|text| text.0)
        .map_err(|_| {
            SchemaError::new(format!(
                "enum value {} is not a string; provider gemini takes string enums only",
                raw.get()
            ))
        })
}

impl<'a> GeminiSchema<'a> {
    /// This schema's keywords on top of `base`'s (a `$ref`'s or a one-schema `allOf`'s target).
    fn over(self, base: GeminiSchema<'a>) -> GeminiSchema<'a> {
        GeminiSchema {
            kind: self.kind.or(base.kind),
            format: self.format.or(base.format),
            title: self.title.or(base.title),
            description: self.description.or(base.description),
            nullable: self.nullable.or(base.nullable),
            enum_values: or_vec(self.enum_values, base.enum_values),
            items: self.items.or(base.items),
            properties: or_vec(self.properties, base.properties),
            required: or_vec(self.required, base.required),
            any_of: or_vec(self.any_of, base.any_of),
            min_items: self.min_items.or(base.min_items),
            max_items: self.max_items.or(base.max_items),
            min_length: self.min_length.or(base.min_length),
            max_length: self.max_length.or(base.max_length),
            min_properties: self.min_properties.or(base.min_properties),
            max_properties: self.max_properties.or(base.max_properties),
            minimum: self.minimum.or(base.minimum),
            maximum: self.maximum.or(base.maximum),
            pattern: self.pattern.or(base.pattern),
            default: self.default.or(base.default),
            example: self.example.or(base.example),
            property_ordering: or_vec(self.property_ordering, base.property_ordering),
        }
    }
}

/// `own` unless it is empty, else `base`.
fn or_vec<T>(own: Vec<T>, base: Vec<T>) -> Vec<T> {
    if own.is_empty() {
        base
    } else {
        own
    }
}

/// A 64-bit count, written as proto3 JSON writes `int64`: a decimal string.
struct Int64(u64);

impl Serialize for Int64 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

struct Properties<'s, 'a>(&'s [(&'a str, GeminiSchema<'a>)]);

impl Serialize for Properties<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, schema) in self.0 {
            map.serialize_entry(name, schema)?;
        }
        map.end()
    }
}

impl Serialize for GeminiSchema<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(kind) = self.kind {
            map.serialize_entry("type", kind)?;
        }
        if let Some(format) = self.format {
            map.serialize_entry("format", format)?;
        }
        if let Some(title) = self.title {
            map.serialize_entry("title", title)?;
        }
        if let Some(description) = self.description {
            map.serialize_entry("description", description)?;
        }
        if let Some(nullable) = self.nullable {
            map.serialize_entry("nullable", &nullable)?;
        }
        if !self.enum_values.is_empty() {
            map.serialize_entry("enum", &self.enum_values)?;
        }
        if let Some(items) = &self.items {
            map.serialize_entry("items", items)?;
        }
        if !self.properties.is_empty() {
            map.serialize_entry("properties", &Properties(&self.properties))?;
        }
        if !self.required.is_empty() {
            map.serialize_entry("required", &self.required)?;
        }
        if !self.any_of.is_empty() {
            map.serialize_entry("anyOf", &self.any_of)?;
        }
        for (key, count) in [
            ("minItems", self.min_items),
            ("maxItems", self.max_items),
            ("minLength", self.min_length),
            ("maxLength", self.max_length),
            ("minProperties", self.min_properties),
            ("maxProperties", self.max_properties),
        ] {
            if let Some(count) = count {
                map.serialize_entry(key, &Int64(count))?;
            }
        }
        if let Some(minimum) = self.minimum {
            map.serialize_entry("minimum", &minimum)?;
        }
        if let Some(maximum) = self.maximum {
            map.serialize_entry("maximum", &maximum)?;
        }
        if let Some(pattern) = self.pattern {
            map.serialize_entry("pattern", pattern)?;
        }
        if let Some(default) = self.default {
            map.serialize_entry("default", default)?;
        }
        if let Some(example) = self.example {
            map.serialize_entry("example", example)?;
        }
        if !self.property_ordering.is_empty() {
            map.serialize_entry("propertyOrdering", &self.property_ordering)?;
        }
        map.end()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonSchema<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SchemaVisitor(std::marker::PhantomData))
    }
}

struct SchemaVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for SchemaVisitor<'a> {
    type Value = JsonSchema<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON Schema (an object or a boolean)")
    }

    fn visit_bool<E>(self, accepts_everything: bool) -> Result<Self::Value, E> {
        let mut schema = JsonSchema::default();
        if !accepts_everything {
            schema.refused.push(Cow::Borrowed("false"));
        }
        Ok(schema)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut schema = JsonSchema::default();
        while let Some(BorrowedText(key)) = map.next_key()? {
            match key.as_ref() {
                "type" => schema.types = map.next_value::<TypeNames<'a>>()?.0,
                "format" => schema.format = Some(map.next_value::<BorrowedText<'a>>()?.0),
                "title" => schema.title = Some(map.next_value::<BorrowedText<'a>>()?.0),
                "description" => schema.description = Some(map.next_value::<BorrowedText<'a>>()?.0),
                "nullable" => schema.nullable = Some(map.next_value()?),
                "enum" => schema.enum_values = Some(map.next_value()?),
                "const" => schema.const_value = Some(map.next_value()?),
                "items" => match map.next_value::<Items<'a>>()? {
                    Items::One(items) => schema.items = Some(items),
                    Items::Tuple => schema.refused.push(Cow::Borrowed("items")),
                },
                "properties" => schema.properties = map.next_value::<Named<'a>>()?.0,
                "required" => {
                    schema.required = map
                        .next_value::<Vec<BorrowedText<'a>>>()?
                        .into_iter()
                        .map(|t| t.0)
                        .collect()
                }
                "anyOf" | "oneOf" => schema
                    .any_of
                    .extend(map.next_value::<Vec<JsonSchema<'a>>>()?),
                "allOf" => schema.all_of = map.next_value()?,
                "minItems" => schema.min_items = Some(map.next_value()?),
                "maxItems" => schema.max_items = Some(map.next_value()?),
                "minLength" => schema.min_length = Some(map.next_value()?),
                "maxLength" => schema.max_length = Some(map.next_value()?),
                "minProperties" => schema.min_properties = Some(map.next_value()?),
                "maxProperties" => schema.max_properties = Some(map.next_value()?),
                "minimum" => schema.minimum = Some(map.next_value()?),
                "maximum" => schema.maximum = Some(map.next_value()?),
                "pattern" => schema.pattern = Some(map.next_value::<BorrowedText<'a>>()?.0),
                "default" => schema.default = Some(map.next_value()?),
                "example" => schema.example = Some(map.next_value()?),
                "propertyOrdering" => {
                    schema.property_ordering = map
                        .next_value::<Vec<BorrowedText<'a>>>()?
                        .into_iter()
                        .map(|t| t.0)
                        .collect()
                }
                "$ref" => schema.reference = Some(map.next_value::<BorrowedText<'a>>()?.0),
                "$defs" | "definitions" => {
                    let named = map.next_value::<Named<'a>>()?.0;
                    schema.definitions.extend(
                        named
                            .into_iter()
                            .map(|(name, definition)| (format!("#/{key}/{name}"), definition)),
                    );
                }
                dropped if DROPPED_KEYWORDS.contains(&dropped) || dropped.starts_with("x-") => {
                    map.next_value::<IgnoredAny>()?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    schema.refused.push(key);
                }
            }
        }
        Ok(schema)
    }
}

/// `type`: one name or a list of them.
struct TypeNames<'a>(Vec<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for TypeNames<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TypeNamesVisitor(std::marker::PhantomData))
    }
}

struct TypeNamesVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TypeNamesVisitor<'a> {
    type Value = TypeNames<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a type name or a list of type names")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(TypeNames(vec![Cow::Borrowed(v)]))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(TypeNames(vec![Cow::Owned(v.to_owned())]))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut names = Vec::new();
        while let Some(BorrowedText(name)) = seq.next_element()? {
            names.push(name);
        }
        Ok(TypeNames(names))
    }
}

/// `properties`, `$defs`: schemas by name, in the order written.
struct Named<'a>(Vec<(Cow<'a, str>, JsonSchema<'a>)>);

impl<'de: 'a, 'a> Deserialize<'de> for Named<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(NamedVisitor(std::marker::PhantomData))
    }
}

struct NamedVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for NamedVisitor<'a> {
    type Value = Named<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object of schemas")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut named = Vec::new();
        while let Some(BorrowedText(name)) = map.next_key()? {
            named.push((name, map.next_value()?));
        }
        Ok(Named(named))
    }
}

/// `items`: one schema, or the tuple form Gemini cannot take.
enum Items<'a> {
    One(Box<JsonSchema<'a>>),
    Tuple,
}

impl<'de: 'a, 'a> Deserialize<'de> for Items<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ItemsVisitor(std::marker::PhantomData))
    }
}

struct ItemsVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ItemsVisitor<'a> {
    type Value = Items<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a schema")
    }

    fn visit_bool<E: Error>(self, v: bool) -> Result<Self::Value, E> {
        SchemaVisitor(std::marker::PhantomData)
            .visit_bool(v)
            .map(|schema| Items::One(Box::new(schema)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        SchemaVisitor(std::marker::PhantomData)
            .visit_map(map)
            .map(|schema| Items::One(Box::new(schema)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Items::Tuple)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn converted(schema: Value) -> Result<Value, String> {
        let text = schema.to_string();
        let raw: &RawValue = serde_json::from_str(&text).unwrap();
        let parsed = JsonSchema::parse(raw).map_err(|e| e.at("p").message.into_string())?;
        let gemini = parsed
            .to_gemini()
            .map_err(|e| e.at("p").message.into_string())?;
        Ok(serde_json::to_value(&gemini).unwrap())
    }

    #[test]
    fn an_openai_tool_schema_becomes_gemini_types() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "title": "Args",
            "properties": {
                "city": {"type": "string", "description": "The city", "minLength": 1, "format": "email"},
                "unit": {"type": ["string", "null"], "enum": ["c", "f", null]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7, "format": "int32", "x-order": 2},
                "when": {"type": "string", "format": "date-time"},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
            },
            "required": ["city"],
            "additionalProperties": false,
        });
        assert_eq!(
            converted(schema).unwrap(),
            json!({
                "type": "OBJECT",
                "title": "Args",
                "properties": {
                    "city": {"type": "STRING", "description": "The city", "minLength": "1"},
                    "unit": {"type": "STRING", "nullable": true, "enum": ["c", "f"]},
                    "days": {"type": "INTEGER", "format": "int32", "minimum": 1.0, "maximum": 7.0},
                    "when": {"type": "STRING", "format": "date-time"},
                    "tags": {"type": "ARRAY", "items": {"type": "STRING"}, "maxItems": "5"},
                },
                "required": ["city"],
            })
        );
    }

    #[test]
    fn property_order_is_kept() {
        let text = r#"{"type":"object","properties":{"z":{"type":"string"},"a":{"type":"string"},"m":{"type":"string"}}}"#;
        let raw: &RawValue = serde_json::from_str(text).unwrap();
        let schema = JsonSchema::parse(raw).unwrap();
        let json = serde_json::to_string(&schema.to_gemini().unwrap()).unwrap();
        assert_eq!(
            json,
            r#"{"type":"OBJECT","properties":{"z":{"type":"STRING"},"a":{"type":"STRING"},"m":{"type":"STRING"}}}"#
        );
    }

    #[test]
    fn refs_and_single_all_of_are_inlined() {
        let schema = json!({
            "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]}},
            "type": "object",
            "properties": {
                "from": {"$ref": "#/$defs/Point", "description": "Start"},
                "to": {"allOf": [{"$ref": "#/definitions/Point"}]},
            },
            "definitions": {"Point": {"type": "object", "properties": {"x": {"type": "integer"}}}},
        });
        assert_eq!(
            converted(schema).unwrap()["properties"],
            json!({
                "from": {"type": "OBJECT", "description": "Start", "properties": {"x": {"type": "NUMBER"}}, "required": ["x"]},
                "to": {"type": "OBJECT", "properties": {"x": {"type": "INTEGER"}}},
            })
        );
    }

    #[test]
    fn several_types_and_one_of_become_any_of() {
        assert_eq!(
            converted(json!({"type": ["string", "integer"], "description": "id"})).unwrap(),
            json!({"description": "id", "anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]})
        );
        assert_eq!(
            converted(json!({"oneOf": [{"type": "string"}, {"type": "null"}]})).unwrap(),
            json!({"anyOf": [{"type": "STRING"}, {"type": "NULL"}]})
        );
        assert_eq!(
            converted(json!({"const": "fixed"})).unwrap(),
            json!({"type": "STRING", "enum": ["fixed"]})
        );
        assert_eq!(converted(json!(true)).unwrap(), json!({}));
        assert_eq!(
            converted(json!({"items": {"type": "boolean"}})).unwrap(),
            json!({"type": "ARRAY", "items": {"type": "BOOLEAN"}})
        );
    }

    #[test]
    fn what_gemini_cannot_honour_is_named_with_its_place() {
        let cases = [
            (
                json!({"type": "object", "properties": {"n": {"type": "integer", "multipleOf": 2}}}),
                "p.properties.n.multipleOf: JSON Schema keyword `multipleOf` is not supported by provider gemini",
            ),
            (
                json!({"not": {"type": "string"}}),
                "p.not: JSON Schema keyword `not` is not supported by provider gemini",
            ),
            (
                json!({"allOf": [{"type": "string"}, {"minLength": 1}]}),
                "p.allOf: `allOf` with several schemas is not supported by provider gemini",
            ),
            (
                json!({"type": "array", "items": [{"type": "string"}]}),
                "p.items: `items` as a list of schemas (a tuple) is not supported by provider gemini",
            ),
            (
                json!({"enum": [1, 2]}),
                "p.enum[0]: enum value 1 is not a string; provider gemini takes string enums only",
            ),
            (
                json!({"$ref": "https://example.com/schema.json"}),
                "p.$ref: `$ref` \"https://example.com/schema.json\" is not supported by provider gemini: only references to #/$defs/… and #/definitions/… of the same schema are inlined",
            ),
            (
                json!({"$ref": "#/$defs/Missing"}),
                "p.$ref: `$ref` \"#/$defs/Missing\" names no definition",
            ),
            (json!({"type": "date"}), "p.type: unknown type \"date\""),
            (
                json!(false),
                "p: the schema `false` accepts nothing, which Gemini cannot express",
            ),
            (
                json!({"type": 5}),
                "p: invalid type: integer `5`, expected a type name or a list of type names",
            ),
        ];
        for (schema, message) in cases {
            assert_eq!(
                converted(schema.clone()),
                Err(message.to_owned()),
                "{schema}"
            );
        }
    }

    #[test]
    fn recursive_schemas_stop_at_the_depth_limit() {
        let schema = json!({
            "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
            "$ref": "#/$defs/Node",
        });
        let error = converted(schema).unwrap_err();
        assert!(
            error.contains("a recursive schema is not supported"),
            "{error}"
        );
    }

    #[test]
    fn empty_objects_take_no_arguments() {
        let text = r#"{"type":"object","properties":{}}"#;
        let raw: &RawValue = serde_json::from_str(text).unwrap();
        let schema = JsonSchema::parse(raw).unwrap();
        assert!(schema.to_gemini().unwrap().takes_no_arguments());
        let text = r#"{"type":"object","properties":{"a":{}}}"#;
        let raw: &RawValue = serde_json::from_str(text).unwrap();
        let schema = JsonSchema::parse(raw).unwrap();
        assert!(!schema.to_gemini().unwrap().takes_no_arguments());
    }
}
