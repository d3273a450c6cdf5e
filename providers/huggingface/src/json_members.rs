//! JSON members read and rewritten where they stand, without building a tree. TGI's chat answers go
//! to the client as TGI wrote them except for a few values, so only those bytes change.
//!
//! A member is found by its quoted key followed by a colon. Inside a JSON string every quote is
//! escaped, so an unescaped quoted key followed by `:` is a real member, at any depth; a false
//! match would need a malformed body, and costs no more than a wrong value the upstream sent.

/// A member to look for: its quoted key, and the bytes its value may start with.
#[derive(Debug, Clone, Copy)]
pub struct Member {
    pub quoted_key: &'static [u8],
    pub value_starts_with: &'static [u8],
}

/// Which of `members` `data` has, found in one pass over its quotes (a stream chunk is scanned
/// once for all the members the relay watches).
pub fn which_members<const N: usize>(data: &[u8], members: &[Member; N]) -> [bool; N] {
    let mut found = [false; N];
    let mut from = 0;
    while let Some(offset) = data
        .get(from..)
        .and_then(|rest| rest.iter().position(|b| *b == b'"'))
    {
        let at = from + offset;
        from = at + 1;
        let rest = data.get(at..).unwrap_or_default();
        for (member, found) in members.iter().zip(found.iter_mut()) {
            if *found || !rest.starts_with(member.quoted_key) || is_escaped(data, at) {
                continue;
            }
            *found = value_after_key(data, at + member.quoted_key.len())
                .and_then(|value| data.get(value))
                .is_some_and(|first| member.value_starts_with.contains(first));
        }
    }
    found
}

/// Whether `data` has a member `quoted_key` whose value starts with one of `first_bytes`.
pub fn has_member(data: &[u8], quoted_key: &'static [u8], first_bytes: &'static [u8]) -> bool {
    let [found] = which_members(
        data,
        &[Member {
            quoted_key,
            value_starts_with: first_bytes,
        }],
    );
    found
}

/// `data` with the string value of every member `quoted_key` replaced by what `replace` returns
/// for its JSON text (escapes as written, quotes excluded); `None` when nothing changed.
pub fn replace_string_values(
    data: &[u8],
    quoted_key: &[u8],
    mut replace: impl FnMut(&str) -> Option<&'static str>,
) -> Option<Vec<u8>> {
    let mut edited: Option<Vec<u8>> = None;
    let mut copied_up_to = 0;
    for at in value_starts(data, quoted_key) {
        if data.get(at) != Some(&b'"') {
            continue;
        }
        let Some(end) = string_end(data, at + 1) else {
            continue;
        };
        let Some(text) = data
            .get(at + 1..end)
            .and_then(|t| std::str::from_utf8(t).ok())
        else {
            continue;
        };
        let Some(replacement) = replace(text).filter(|r| *r != text) else {
            continue;
        };
        let out = edited.get_or_insert_with(|| Vec::with_capacity(data.len() + 16));
        out.extend_from_slice(data.get(copied_up_to..=at).unwrap_or_default());
        out.extend_from_slice(replacement.as_bytes());
        copied_up_to = end;
    }
    let mut out = edited?;
    out.extend_from_slice(data.get(copied_up_to..).unwrap_or_default());
    Some(out)
}

/// Where the value of each member `quoted_key` starts (its first byte after the colon and any
/// whitespace), in order.
fn value_starts<'d>(data: &'d [u8], quoted_key: &'d [u8]) -> impl Iterator<Item = usize> + 'd {
    let mut from = 0;
    std::iter::from_fn(move || loop {
        let rest = data.get(from..)?;
        let found = from + find(rest, quoted_key)?;
        from = found + quoted_key.len().max(1);
        if is_escaped(data, found) {
            continue;
        }
        if let Some(value) = value_after_key(data, found + quoted_key.len()) {
            return Some(value);
        }
    })
}

/// Where the value starts when a colon follows the key that ends at `after_key`.
fn value_after_key(data: &[u8], after_key: usize) -> Option<usize> {
    let colon = skip_space(data, after_key);
    (data.get(colon) == Some(&b':')).then(|| skip_space(data, colon + 1))
}

/// Where `needle`, a quoted key, first occurs: only quotes are compared against it, so a scan
/// costs about one pass over the bytes.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut from = 0;
    loop {
        let at = from + haystack.get(from..)?.iter().position(|b| *b == first)?;
        if haystack.get(at..)?.starts_with(needle) {
            return Some(at);
        }
        from = at + 1;
    }
}

/// Whether the byte at `at` is preceded by an odd number of backslashes.
fn is_escaped(data: &[u8], at: usize) -> bool {
    let before = data.get(..at).unwrap_or_default();
    before.iter().rev().take_while(|b| **b == b'\\').count() % 2 == 1
}

fn skip_space(data: &[u8], mut at: usize) -> usize {
    while data
        .get(at)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        at += 1;
    }
    at
}

/// The index of the quote that closes the string whose text starts at `start`.
fn string_end(data: &[u8], start: usize) -> Option<usize> {
    let mut at = start;
    loop {
        match data.get(at)? {
            b'\\' => at += 2,
            b'"' => return Some(at),
            _ => at += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FINISH: &[u8] = b"\"finish_reason\"";

    fn replaced(data: &str) -> Option<String> {
        replace_string_values(data.as_bytes(), FINISH, |old| match old {
            "eos_token" | "stop_sequence" => Some("stop"),
            _ => None,
        })
        .map(|out| String::from_utf8(out).unwrap())
    }

    #[test]
    fn string_values_are_replaced_in_place() {
        assert_eq!(
            replaced(r#"{"choices":[{"finish_reason" : "eos_token","index":0}],"x":1}"#).as_deref(),
            Some(r#"{"choices":[{"finish_reason" : "stop","index":0}],"x":1}"#)
        );
        assert_eq!(
            replaced(r#"[{"finish_reason":"eos_token"},{"finish_reason":"stop_sequence"}]"#)
                .as_deref(),
            Some(r#"[{"finish_reason":"stop"},{"finish_reason":"stop"}]"#)
        );
    }

    #[test]
    fn text_that_only_looks_like_a_member_is_left_alone() {
        for data in [
            r#"{"content":"\"finish_reason\":\"eos_token\"","finish_reason":null}"#,
            r#"{"finish_reason":"length"}"#,
            r#"{"a":"finish_reason","b":["finish_reason"]}"#,
            r#"{"x\"finish_reason":"eos_token"}"#,
            r#"{"finish_reason":"eos_token"#,
        ] {
            assert_eq!(replaced(data), None, "{data}");
        }
        assert_eq!(
            replaced(r#"{"a":"x\\","finish_reason":"eos_token"}"#).as_deref(),
            Some(r#"{"a":"x\\","finish_reason":"stop"}"#),
            "an escaped backslash does not escape the key's quote"
        );
    }

    #[test]
    fn members_are_found_by_the_first_byte_of_their_value() {
        let data = br#"{"usage":null,"choices":[{"delta":{"tool_calls":[{"index":0}]}}]}"#;
        assert!(has_member(data, b"\"tool_calls\"", b"["));
        assert!(!has_member(data, b"\"usage\"", b"{"));
        assert!(has_member(
            br#"{"usage": {"prompt_tokens":1}}"#,
            b"\"usage\"",
            b"{"
        ));
        assert!(!has_member(
            br#"{"content":"\"usage\": {"}"#,
            b"\"usage\"",
            b"{"
        ));
    }

    #[test]
    fn one_pass_finds_every_watched_member() {
        let watched = [
            Member {
                quoted_key: b"\"error\"",
                value_starts_with: b"\"{",
            },
            Member {
                quoted_key: FINISH,
                value_starts_with: b"\"",
            },
            Member {
                quoted_key: b"\"usage\"",
                value_starts_with: b"{",
            },
        ];
        let chunk = br#"{"choices":[{"delta":{"content":"\"error\":\"x\""},"finish_reason":"length"}],"usage":{"prompt_tokens":1}}"#;
        assert_eq!(which_members(chunk, &watched), [false, true, true]);
        let chunk = br#"{"error" : {"message":"m"},"usage":null,"finish_reason":null}"#;
        assert_eq!(which_members(chunk, &watched), [true, false, false]);
        assert_eq!(which_members(b"", &watched), [false; 3]);
    }
}
