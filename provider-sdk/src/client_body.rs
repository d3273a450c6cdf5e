//! The client's request body as a module receives it: its bytes, and where the top-level members
//! of a JSON object body lie when the gateway found them while validating it.
//!
//! Why the gateway hands the members over: a module that forwards an OpenAI body edits a few
//! top-level fields in place ([`crate::json_edit`]), which needs every member's key and value
//! text. Reading them from the bytes again is a second full pass over the body, and for a long
//! conversation (30 KB) that pass cost a quarter of the gateway's instructions per request.

use std::ops::Deref;

use crate::abi::BodyMember;

/// The client's body, and its top-level members when the gateway located them.
#[derive(Debug, Clone, Copy)]
pub struct ClientBody<'a> {
    bytes: &'a [u8],
    members: &'a [BodyMember],
}

impl<'a> ClientBody<'a> {
    /// A body whose members nobody located.
    pub fn new(bytes: &'a [u8]) -> ClientBody<'a> {
        ClientBody {
            bytes,
            members: &[],
        }
    }

    /// A body with the members [`locate_members`] found in it.
    pub fn with_members(bytes: &'a [u8], members: &'a [BodyMember]) -> ClientBody<'a> {
        ClientBody { bytes, members }
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The top-level members in the order sent (a repeated key as often as it was sent); empty
    /// when they were not located.
    pub fn members(&self) -> &'a [BodyMember] {
        self.members
    }
}

impl Deref for ClientBody<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.bytes
    }
}

/// The members of the JSON object `body`, which a parser has validated, from its keys as the
/// parser borrowed them: each key a slice of `body`, in order. Between one value and the next key
/// valid JSON has only whitespace and a comma, so each value's text ends where that run begins.
///
/// `None` when a key is not a slice of `body` (a parser decodes a key with escapes into a copy)
/// or the bytes around the members are not what a JSON object has there.
pub fn locate_members(body: &[u8], keys: &[&str]) -> Option<Vec<BodyMember>> {
    let base = body.as_ptr() as usize;
    let mut members: Vec<BodyMember> = Vec::with_capacity(keys.len());
    for key in keys {
        let key_start = (key.as_ptr() as usize).checked_sub(base)?;
        let key_end = key_start.checked_add(key.len())?;
        if body.get(key_start.checked_sub(1)?) != Some(&b'"') || body.get(key_end) != Some(&b'"') {
            return None;
        }
        if let Some(previous) = members.last_mut() {
            previous.value_end = value_end(body, key_start - 1, b',', previous.value_start)?;
        }
        let colon = skip_whitespace(body, key_end + 1);
        if body.get(colon) != Some(&b':') {
            return None;
        }
        members.push(BodyMember {
            key_start,
            key_end,
            value_start: skip_whitespace(body, colon + 1),
            value_end: 0,
        });
    }
    if let Some(last) = members.last_mut() {
        last.value_end = value_end(body, body.len(), b'}', last.value_start)?;
    }
    Some(members)
}

fn skip_whitespace(body: &[u8], mut at: usize) -> usize {
    while body.get(at).is_some_and(|b| is_whitespace(*b)) {
        at += 1;
    }
    at
}

/// The end of the value that starts at `value_start`, given that whitespace, then `separator`,
/// then whitespace come before `limit`.
fn value_end(body: &[u8], limit: usize, separator: u8, value_start: usize) -> Option<usize> {
    let before_whitespace = |mut at: usize| {
        while at > value_start && body.get(at - 1).is_some_and(|b| is_whitespace(*b)) {
            at -= 1;
        }
        at
    };
    let at = before_whitespace(limit);
    if at <= value_start || body.get(at - 1) != Some(&separator) {
        return None;
    }
    let end = before_whitespace(at - 1);
    (end > value_start).then_some(end)
}

/// JSON's whitespace (RFC 8259, section 2).
fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_edit::{object_members, ObjectKey};
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
    use std::borrow::Cow;

    /// The keys of `body` as serde_json borrows them, and whether every one was borrowed.
    fn borrowed_keys(body: &[u8]) -> Option<Vec<&str>> {
        struct Keys;
        impl<'de> Visitor<'de> for Keys {
            type Value = Option<Vec<&'de str>>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut keys = Some(Vec::new());
                while let Some(ObjectKey(key)) = map.next_key()? {
                    map.next_value::<IgnoredAny>()?;
                    match (key, keys.as_mut()) {
                        (Cow::Borrowed(key), Some(keys)) => keys.push(key),
                        _ => keys = None,
                    }
                }
                Ok(keys)
            }
        }
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let keys = (&mut deserializer).deserialize_map(Keys).unwrap();
        deserializer.end().unwrap();
        keys
    }

    fn located(body: &str) -> Vec<(String, String)> {
        let keys = borrowed_keys(body.as_bytes()).unwrap();
        locate_members(body.as_bytes(), &keys)
            .unwrap()
            .iter()
            .map(|m| {
                (
                    body[m.key_start..m.key_end].to_string(),
                    body[m.value_start..m.value_end].to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn members_are_where_a_parser_finds_them_whatever_the_whitespace() {
        for body in [
            r#"{"model":"gpt-4o","messages":[{"role":"user","content":"a, b } c"}],"stream":true}"#,
            "{ \"model\" :\t\"gpt-4o\" ,\r\n \"n\":\n2 ,\"o\": {\"a\": [1, {}]}\n}\n",
            r#"{"a":1,"a":"x","b":null,"c":-1.5e3,"d":"\"quoted\", }"}"#,
            r#"  {"only":{}}  "#,
        ] {
            let parsed: Vec<(String, String)> = object_members(body.as_bytes())
                .unwrap()
                .into_iter()
                .map(|(key, value)| (key.into_owned(), value.get().to_string()))
                .collect();
            assert_eq!(located(body), parsed, "{body}");
        }
    }

    /// Objects of random members, values and whitespace, from a fixed seed: strings holding
    /// quotes, commas, colons and braces, nested objects and arrays, numbers, literals.
    #[test]
    fn members_are_where_a_parser_finds_them_in_generated_objects() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |bound: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % bound
        };
        let pieces = [
            r#""a, \"b\": {c}""#,
            "-12.5e-3",
            "true",
            "null",
            r#"{"k": [1, {"x": "}"}], "y": "\\"}"#,
            "[]",
            r#"[" ,:", {}, [null]]"#,
            r#""é\u00e9""#,
        ];
        let spaces = ["", " ", "\n", "\t ", "\r\n  "];
        for _ in 0..500 {
            let mut body = String::from(spaces[next(5) as usize]);
            body.push('{');
            for member in 0..next(6) {
                if member > 0 {
                    body.push_str(spaces[next(5) as usize]);
                    body.push(',');
                }
                body.push_str(spaces[next(5) as usize]);
                body.push_str(&format!("\"k{}\"", next(4)));
                body.push_str(spaces[next(5) as usize]);
                body.push(':');
                body.push_str(spaces[next(5) as usize]);
                body.push_str(pieces[next(pieces.len() as u64) as usize]);
            }
            body.push_str(spaces[next(5) as usize]);
            body.push('}');
            body.push_str(spaces[next(5) as usize]);
            let parsed: Vec<(String, String)> = object_members(body.as_bytes())
                .unwrap()
                .into_iter()
                .map(|(key, value)| (key.into_owned(), value.get().to_string()))
                .collect();
            assert_eq!(located(&body), parsed, "{body:?}");
        }
    }

    #[test]
    fn members_are_where_a_parser_finds_them_in_every_kong_fixture_object() {
        let root = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/kong-ai-proxy"
        );
        let mut files = vec![std::path::PathBuf::from(root)];
        let mut compared = 0;
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let Ok(parsed) = object_members(&bytes) else {
                continue;
            };
            let Some(keys) = borrowed_keys(&bytes) else {
                continue;
            };
            let located = locate_members(&bytes, &keys).unwrap();
            assert_eq!(located.len(), parsed.len(), "{}", path.display());
            for (member, (key, value)) in located.iter().zip(&parsed) {
                assert_eq!(
                    &bytes[member.key_start..member.key_end],
                    key.as_bytes(),
                    "{}",
                    path.display()
                );
                assert_eq!(
                    &bytes[member.value_start..member.value_end],
                    value.get().as_bytes(),
                    "{}",
                    path.display()
                );
            }
            compared += 1;
        }
        assert!(compared > 100, "only {compared} fixtures are JSON objects");
    }

    #[test]
    fn an_empty_object_has_no_members() {
        assert_eq!(located("{ }"), Vec::<(String, String)>::new());
    }

    #[test]
    fn keys_that_are_not_slices_of_the_body_are_not_located() {
        let body = br#"{"model":"m"}"#;
        assert_eq!(locate_members(body, &["model"]), None);
        let elsewhere = br#"{"model":"m"}"#.to_vec();
        let key = std::str::from_utf8(&elsewhere[2..7]).unwrap();
        assert_eq!(locate_members(body, &[key]), None);
    }
}
