//! Edits to the top level of a JSON object that keep the bytes of every value as the client sent
//! them.
//!
//! Forwarding a request to an OpenAI-compatible upstream usually needs one or two top-level fields
//! changed (`model`, `stream`, a tuning value). Parsing the whole body into a `Value` and writing
//! it back costs about a third of the gateway's throughput and may change numbers and escapes the
//! client chose; here each value stays the client's JSON text, borrowed from the body, so nested
//! content (messages, tools) is never re-serialized. Only the object's own punctuation and keys are
//! rewritten, compactly.

use std::borrow::Cow;
use std::collections::HashSet;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::abi::BodyMember;
use crate::client_body::ClientBody;

/// Above this many keys, duplicates are found with a hash set rather than by comparing every pair,
/// so that a hostile body with many keys costs linear time.
const PAIRWISE_DUPLICATE_SCAN_MAX: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// The bytes are not one JSON value (the message says where).
    NotJson(String),
    /// Valid JSON, but not an object.
    NotAnObject,
    /// A value given to [`ObjectEdit::set_json`] could not be serialized.
    Value(String),
}

impl std::fmt::Display for EditError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EditError::NotJson(reason) => write!(f, "not valid JSON: {reason}"),
            EditError::NotAnObject => f.write_str("not a JSON object"),
            EditError::Value(reason) => write!(f, "value cannot be serialized: {reason}"),
        }
    }
}

impl std::error::Error for EditError {}

#[derive(Debug, Clone)]
struct Entry<'a> {
    key: Cow<'a, str>,
    /// The value's JSON text.
    value: Cow<'a, str>,
}

/// A JSON object as an ordered list of keys and values' JSON text, borrowed from the parsed bytes.
#[derive(Debug, Clone)]
pub struct ObjectEdit<'a> {
    entries: Vec<Entry<'a>>,
    changed: bool,
}

impl<'a> ObjectEdit<'a> {
    /// Reads `bytes` as one JSON object. A key that appears more than once keeps its last value,
    /// as serde does.
    pub fn parse(bytes: &'a [u8]) -> Result<ObjectEdit<'a>, EditError> {
        let mut entries: Vec<Entry<'a>> = object_members(bytes)?
            .into_iter()
            .map(|(key, value)| Entry {
                key,
                value: Cow::Borrowed(value.get()),
            })
            .collect();
        keep_last_of_duplicates(&mut entries);
        Ok(ObjectEdit {
            entries,
            changed: false,
        })
    }

    /// Reads `body` as one JSON object: from the members the gateway located in it when there are
    /// any (see [`crate::client_body`]), else by parsing it.
    pub fn of_client_body(body: &ClientBody<'a>) -> Result<ObjectEdit<'a>, EditError> {
        match ObjectEdit::from_members(body.bytes(), body.members()) {
            Some(object) => Ok(object),
            None => ObjectEdit::parse(body.bytes()),
        }
    }

    /// The object whose members lie in `bytes` where `members` says, or `None` (see
    /// [`located_members`]).
    fn from_members(bytes: &'a [u8], members: &[BodyMember]) -> Option<ObjectEdit<'a>> {
        let mut entries: Vec<Entry<'a>> = located_members(bytes, members)?
            .into_iter()
            .map(|(key, value)| Entry {
                key: Cow::Borrowed(key),
                value: Cow::Borrowed(value),
            })
            .collect();
        keep_last_of_duplicates(&mut entries);
        Some(ObjectEdit {
            entries,
            changed: false,
        })
    }

    /// The JSON text of `key`'s value, as sent or set (`"null"` for a JSON null).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .map(|e| &*e.value)
    }

    /// Replaces the value of `key` where it stands, or appends it. `value_json` must be one
    /// complete JSON value, such as `serde_json::to_string` produces; it is written as given.
    /// [`set_json`](Self::set_json) serializes a Rust value instead.
    pub fn set(&mut self, key: impl Into<Cow<'a, str>>, value_json: impl Into<Cow<'a, str>>) {
        let key = key.into();
        let value = value_json.into();
        match self.entries.iter_mut().find(|e| e.key == key) {
            Some(entry) if entry.value == value => {}
            Some(entry) => {
                entry.value = value;
                self.changed = true;
            }
            None => {
                self.entries.push(Entry { key, value });
                self.changed = true;
            }
        }
    }

    /// [`set`](Self::set) with a value serialized from Rust.
    pub fn set_json<T: Serialize + ?Sized>(
        &mut self,
        key: impl Into<Cow<'a, str>>,
        value: &T,
    ) -> Result<(), EditError> {
        let json = serde_json::to_string(value).map_err(|e| EditError::Value(e.to_string()))?;
        self.set(key, json);
        Ok(())
    }

    /// Removes `key`; returns whether it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.key != key);
        let removed = self.entries.len() != before;
        self.changed |= removed;
        removed
    }

    /// Whether any [`set`](Self::set) or [`remove`](Self::remove) changed the object. Setting a
    /// value to the same JSON text it had is not a change.
    pub fn is_changed(&self) -> bool {
        self.changed
    }

    /// The object as compact JSON text, values byte for byte as they were parsed or set.
    pub fn into_string(self) -> String {
        let size: usize = self
            .entries
            .iter()
            .map(|e| e.key.len() + e.value.len() + 4)
            .sum();
        let mut out = String::with_capacity(size + 2);
        out.push('{');
        for (index, entry) in self.entries.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            write_json_string(&mut out, &entry.key);
            out.push(':');
            out.push_str(&entry.value);
        }
        out.push('}');
        out
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.into_string().into_bytes()
    }
}

fn keep_last_of_duplicates(entries: &mut Vec<Entry<'_>>) {
    if entries.len() <= PAIRWISE_DUPLICATE_SCAN_MAX {
        let has_duplicates = entries
            .iter()
            .enumerate()
            .any(|(i, e)| entries.iter().skip(i + 1).any(|later| later.key == e.key));
        if !has_duplicates {
            return;
        }
    }
    let mut seen = HashSet::with_capacity(entries.len());
    let mut kept: Vec<Entry<'_>> = Vec::with_capacity(entries.len());
    for entry in entries.drain(..).rev() {
        if seen.insert(entry.key.clone()) {
            kept.push(entry);
        }
    }
    kept.reverse();
    *entries = kept;
}

fn write_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The members of the client's JSON object body in order, a repeated key as often as it was sent,
/// each value as its JSON text: where the gateway located them when it did, else by parsing.
pub fn client_body_members<'a>(
    body: &ClientBody<'a>,
) -> Result<Vec<(Cow<'a, str>, &'a str)>, EditError> {
    if let Some(members) = located_members(body.bytes(), body.members()) {
        return Ok(members
            .into_iter()
            .map(|(key, value)| (Cow::Borrowed(key), value))
            .collect());
    }
    Ok(object_members(body.bytes())?
        .into_iter()
        .map(|(key, value)| (key, value.get()))
        .collect())
}

/// The key and value text of each of `members` in `bytes`. `None` when there are none, when one
/// is out of bounds or not UTF-8, or when a key has escapes (its text is not the key).
fn located_members<'a>(bytes: &'a [u8], members: &[BodyMember]) -> Option<Vec<(&'a str, &'a str)>> {
    if members.is_empty() {
        return None;
    }
    let text = |start: usize, end: usize| std::str::from_utf8(bytes.get(start..end)?).ok();
    members
        .iter()
        .map(|member| {
            let key =
                text(member.key_start, member.key_end).filter(|k| !k.contains(['\\', '"']))?;
            Some((key, text(member.value_start, member.value_end)?))
        })
        .collect()
}

/// The members of the JSON object in `bytes`, in order, each value as its JSON text borrowed from
/// `bytes`. A repeated key appears as often as it was sent.
pub(crate) fn object_members(bytes: &[u8]) -> Result<Vec<(Cow<'_, str>, &RawValue)>, EditError> {
    let Entries(members) =
        crate::json_bytes::from_bytes(bytes).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => EditError::NotAnObject,
            _ => EditError::NotJson(e.to_string()),
        })?;
    Ok(members)
}

struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EntriesVisitor(std::marker::PhantomData))
    }
}

struct EntriesVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for EntriesVisitor<'a> {
    type Value = Entries<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(ObjectKey(key)) = map.next_key()? {
            let value: &'de RawValue = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Entries(entries))
    }
}

/// An object key, borrowed from the input unless it had escapes to decode.
pub(crate) struct ObjectKey<'a>(pub(crate) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for ObjectKey<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(ObjectKeyVisitor(std::marker::PhantomData))
    }
}

struct ObjectKeyVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ObjectKeyVisitor<'a> {
    type Value = ObjectKey<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(ObjectKey(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(ObjectKey(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(ObjectKey(Cow::Owned(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(edit: ObjectEdit<'_>) -> String {
        edit.into_string()
    }

    fn member(key: (usize, usize), value: (usize, usize)) -> BodyMember {
        BodyMember {
            key_start: key.0,
            key_end: key.1,
            value_start: value.0,
            value_end: value.1,
        }
    }

    #[test]
    fn located_members_are_read_without_parsing_and_the_last_duplicate_wins() {
        // Not JSON at all: only the members' ranges are read.
        let body = b"<model=m1 n=2 model=m3>";
        let members = [
            member((1, 6), (7, 9)),
            member((10, 11), (12, 13)),
            member((14, 19), (20, 22)),
        ];
        let edit = ObjectEdit::of_client_body(&ClientBody::with_members(body, &members)).unwrap();
        assert_eq!(text(edit), r#"{"n":2,"model":m3}"#);
    }

    #[test]
    fn body_members_keep_repeated_keys_whether_located_or_parsed() {
        let body = br#"{"n":2, "model":"m","n":1}"#;
        let members = [
            member((2, 3), (5, 6)),
            member((9, 14), (16, 19)),
            member((21, 22), (24, 25)),
        ];
        let expected = [("n", "2"), ("model", r#""m""#), ("n", "1")];
        for client_body in [
            ClientBody::new(body),
            ClientBody::with_members(body, &members),
        ] {
            let read = client_body_members(&client_body).unwrap();
            let read: Vec<(&str, &str)> = read.iter().map(|(k, v)| (k.as_ref(), *v)).collect();
            assert_eq!(read, expected);
        }
        let not_json = b"not json: n2";
        let located = [member((10, 11), (11, 12))];
        let read = client_body_members(&ClientBody::with_members(not_json, &located)).unwrap();
        assert_eq!(read, [(Cow::Borrowed("n"), "2")]);
    }

    #[test]
    fn members_that_cannot_be_the_body_s_fall_back_to_parsing_it() {
        let body = br#"{"a\"b":1,"c":2}"#;
        for members in [
            vec![],
            vec![member((2, 6), (8, 9))],
            vec![member((11, 12), (14, 99))],
            vec![member((11, 12), (15, 14))],
        ] {
            let edit =
                ObjectEdit::of_client_body(&ClientBody::with_members(body, &members)).unwrap();
            assert_eq!(text(edit), r#"{"a\"b":1,"c":2}"#, "{members:?}");
        }
    }

    #[test]
    fn nested_values_keep_their_bytes_and_whitespace() {
        let body = br#"  { "a" : 1.50 , "b": {"x": [1, 2 ,3],  "y":"\u00e9\n"} }
"#;
        let edit = ObjectEdit::parse(body).unwrap();
        assert_eq!(edit.get("a").unwrap(), "1.50");
        assert_eq!(
            edit.get("b").unwrap(),
            r#"{"x": [1, 2 ,3],  "y":"\u00e9\n"}"#
        );
        assert!(!edit.is_changed());
        assert_eq!(
            text(edit),
            r#"{"a":1.50,"b":{"x": [1, 2 ,3],  "y":"\u00e9\n"}}"#
        );
    }

    #[test]
    fn set_replaces_in_place_and_appends_new_keys() {
        let body = br#"{"model":"a","messages":[{"role":"user","content":"hi"}],"n":1}"#;
        let mut edit = ObjectEdit::parse(body).unwrap();
        edit.set("model", r#""gpt-4""#);
        edit.set_json("stream", &true).unwrap();
        assert!(edit.is_changed());
        assert_eq!(
            text(edit),
            r#"{"model":"gpt-4","messages":[{"role":"user","content":"hi"}],"n":1,"stream":true}"#
        );
    }

    #[test]
    fn setting_the_same_text_is_not_a_change() {
        let mut edit = ObjectEdit::parse(br#"{"model":"gpt-4","t":0.5}"#).unwrap();
        edit.set_json("model", "gpt-4").unwrap();
        edit.set_json("t", &0.5).unwrap();
        assert!(!edit.is_changed());
        edit.set_json("t", &0.7).unwrap();
        assert!(edit.is_changed());
        assert_eq!(text(edit), r#"{"model":"gpt-4","t":0.7}"#);
    }

    #[test]
    fn remove_drops_the_key_and_reports_it() {
        let mut edit = ObjectEdit::parse(br#"{"top_k":5,"a":[1]}"#).unwrap();
        assert!(!edit.remove("missing"));
        assert!(!edit.is_changed());
        assert!(edit.remove("top_k"));
        assert!(edit.is_changed());
        assert_eq!(text(edit), r#"{"a":[1]}"#);
    }

    #[test]
    fn escaped_keys_are_decoded_for_lookup_and_escaped_on_output() {
        let body = br#"{"\u006dodel":"x","a\"b":1,"tab\tkey":2,"\u0001":3,"\u00e9":4}"#;
        let mut edit = ObjectEdit::parse(body).unwrap();
        assert_eq!(edit.get("model").unwrap(), r#""x""#);
        assert_eq!(edit.get("a\"b").unwrap(), "1");
        assert_eq!(edit.get("é").unwrap(), "4");
        edit.set_json("model", "y").unwrap();
        let out = text(edit);
        assert_eq!(
            out,
            "{\"model\":\"y\",\"a\\\"b\":1,\"tab\\tkey\":2,\"\\u0001\":3,\"é\":4}"
        );
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back["a\"b"], 1);
        assert_eq!(back["\u{1}"], 3);
    }

    #[test]
    fn duplicate_keys_keep_the_last_value() {
        let mut edit = ObjectEdit::parse(br#"{"a":1,"b":2,"a":3}"#).unwrap();
        assert_eq!(edit.get("a").unwrap(), "3");
        edit.set_json("c", &0).unwrap();
        assert_eq!(text(edit), r#"{"b":2,"a":3,"c":0}"#);
    }

    #[test]
    fn duplicate_keys_in_a_large_object_keep_the_last_value() {
        let mut body = String::from("{");
        for i in 0..100 {
            body.push_str(&format!("\"k{}\":{i},", i % 40));
        }
        body.push_str("\"end\":true}");
        let edit = ObjectEdit::parse(body.as_bytes()).unwrap();
        assert_eq!(edit.get("k0").unwrap(), "80");
        assert_eq!(edit.get("k39").unwrap(), "79");
        let out: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&text(edit)).unwrap();
        assert_eq!(out.len(), 41);
    }

    #[test]
    fn nested_object_edit_becomes_a_value() {
        let body = br#"{"stream_options":{"include_obfuscation":false}}"#;
        let mut edit = ObjectEdit::parse(body).unwrap();
        let options = edit.get("stream_options").unwrap().as_bytes();
        let mut inner = ObjectEdit::parse(options).unwrap();
        inner.set_json("include_usage", &true).unwrap();
        let inner = inner.into_string();
        edit.set("stream_options", inner);
        assert_eq!(
            text(edit),
            r#"{"stream_options":{"include_obfuscation":false,"include_usage":true}}"#
        );
    }

    #[test]
    fn empty_object_round_trips() {
        let mut edit = ObjectEdit::parse(b" {} ").unwrap();
        assert!(edit.get("a").is_none());
        edit.set_json("a", &[1, 2]).unwrap();
        assert_eq!(text(edit), r#"{"a":[1,2]}"#);
    }

    #[test]
    fn non_objects_and_invalid_json_are_errors() {
        assert_eq!(
            ObjectEdit::parse(b"[1,2]").unwrap_err(),
            EditError::NotAnObject
        );
        assert_eq!(
            ObjectEdit::parse(br#""str""#).unwrap_err(),
            EditError::NotAnObject
        );
        assert_eq!(
            ObjectEdit::parse(b"null").unwrap_err(),
            EditError::NotAnObject
        );
        for bad in [
            &b""[..],
            b"   ",
            br#"{"a":"#,
            br#"{"a":1} x"#,
            br#"{"a":1,}"#,
            b"{\"a\":\"\xff\"}",
            b"{a:1}",
        ] {
            assert!(
                matches!(ObjectEdit::parse(bad), Err(EditError::NotJson(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn deep_nesting_is_kept_without_recursing() {
        let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let body = format!("{{\"a\":{nested}}}");
        let mut edit = ObjectEdit::parse(body.as_bytes()).unwrap();
        assert_eq!(edit.get("a").unwrap(), nested);
        edit.set_json("b", &1).unwrap();
        assert_eq!(text(edit), format!("{{\"a\":{nested},\"b\":1}}"));

        let unbalanced = format!("{{\"a\":{}}}", "[".repeat(100_000));
        assert!(matches!(
            ObjectEdit::parse(unbalanced.as_bytes()),
            Err(EditError::NotJson(_))
        ));
    }
}
