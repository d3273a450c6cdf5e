//! Finding the members of JSON objects by key without parsing: for the byte scans that run over
//! every streamed event (the relay's metering sniff, the gateway's character count for the token
//! estimate), where a parse would cost more than everything else done with the event.
//!
//! The searcher looks for the bare key, and a match counts only as a whole key: an unescaped
//! quote right before it, a quote right after it, then a colon. In valid JSON that cannot happen
//! inside a string, where every quote is escaped, so what is found are real members, at any
//! depth. The gateway and the relay share this one reading of those rules.

use memchr::memmem::Finder;

/// A searcher for the members named by one key, built once and used for many documents.
#[derive(Debug, Clone)]
pub struct MemberFinder {
    key: Finder<'static>,
}

impl MemberFinder {
    /// `key` is the member's name as it appears between the quotes (plain names only: no
    /// escapes).
    pub fn new(key: &str) -> MemberFinder {
        MemberFinder {
            key: Finder::new(key.as_bytes()).into_owned(),
        }
    }

    /// The offsets in `json` where the values of the members named by this key start, in order.
    /// A document cut short yields what it has, and an offset may be `json.len()` when the cut
    /// falls right after a colon.
    pub fn values<'j>(&'j self, json: &'j [u8]) -> impl Iterator<Item = usize> + 'j {
        let key_len = self.key.needle().len();
        self.key.find_iter(json).filter_map(move |at| {
            let open = at.checked_sub(1)?;
            let whole_key = json.get(open) == Some(&b'"')
                && !is_escaped(json, open)
                && json.get(at + key_len) == Some(&b'"');
            if !whole_key {
                return None;
            }
            let colon = skip_whitespace(json, at + key_len + 1);
            (json.get(colon) == Some(&b':')).then(|| skip_whitespace(json, colon + 1))
        })
    }
}

/// Whether the byte at `at` follows an odd number of backslashes.
fn is_escaped(json: &[u8], at: usize) -> bool {
    let before = json.get(..at).unwrap_or_default();
    before.iter().rev().take_while(|b| **b == b'\\').count() % 2 == 1
}

/// The first offset from `at` that is not JSON whitespace.
pub fn skip_whitespace(json: &[u8], mut at: usize) -> usize {
    while json
        .get(at)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(key: &str, json: &str) -> Vec<String> {
        let bytes = json.as_bytes();
        MemberFinder::new(key)
            .values(bytes)
            .map(|at| {
                String::from_utf8_lossy(&bytes[at..])
                    .chars()
                    .take(3)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn finds_members_at_any_depth_with_any_spacing() {
        assert_eq!(
            values("usage", r#"{"usage":{"a":1},"x":{"usage" :  null}}"#),
            ["{\"a", "nul"]
        );
        assert_eq!(values("usage", "{\"usage\"\n:\t7}"), ["7}"]);
    }

    #[test]
    fn keys_that_are_part_of_other_keys_or_text_are_not_members() {
        assert!(values(
            "text",
            r#"{"context":"a text","text_delta":1,"type":"text"}"#
        )
        .is_empty());
        assert!(values("text", r#"{"note":"say \"text\": no"}"#).is_empty());
        assert!(values("text", r#"{"a \"text": "no"}"#).is_empty());
        assert_eq!(values("text", r#"{"a\\":"b","text":"yes"}"#), ["\"ye"]);
    }

    #[test]
    fn a_cut_document_yields_what_it_has() {
        assert_eq!(values("usage", r#"{"usage":"#), [""]);
        assert!(values("usage", r#"{"usage""#).is_empty());
        assert!(values("usage", "usage").is_empty());
    }
}
