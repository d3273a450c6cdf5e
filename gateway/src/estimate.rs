//! The token estimate used only when a provider reports no usage: **one token per four
//! characters of text, rounded up** (Kong's `ceil(len / 4)`, and OpenAI's rule of thumb for
//! English). Kong estimates prompts by words × 1.8; one rule for both sides is simpler to reason
//! about, and the result is marked as an estimate wherever it is reported.
//!
//! The text is found without parsing: [`text_chars`] finds the members of a few keys in JSON (or
//! SSE whose events are JSON) by searching for the keys ([`MemberFinder`]), and counts the
//! characters of their string values. It borrows, and never allocates, so a stream can be counted
//! chunk by chunk as it passes: a stream translator emits whole events, so no string is split
//! between two chunks.
//!
//! Why search for the keys rather than walk every string: a stream chunk holds a dozen strings
//! (`id`, `object`, `model`, …) and one piece of text; stepping from string to string cost about
//! 2,300 instructions per chunk, 18% of a relayed stream's in the gateway.

use std::sync::LazyLock;

use provider_sdk::json_member::MemberFinder;

/// Keys whose string values are counted, each with a searcher built once.
pub struct TextKeys(Vec<MemberFinder>);

impl TextKeys {
    fn new(keys: &[&str]) -> TextKeys {
        TextKeys(keys.iter().map(|key| MemberFinder::new(key)).collect())
    }
}

/// Keys whose string values are generated text in OpenAI's responses and stream chunks:
/// `message.content` / `delta.content`, `refusal`, a completion's `text`, and tool calls'
/// `function.arguments`.
pub static GENERATED_KEYS: LazyLock<TextKeys> =
    LazyLock::new(|| TextKeys::new(&["content", "refusal", "text", "arguments"]));

/// Keys whose string values are prompt text in OpenAI's requests: `messages[].content` (or its
/// text parts' `text`), assistant tool calls' `arguments`, a completion's `prompt`, and an
/// embeddings `input`.
pub static PROMPT_KEYS: LazyLock<TextKeys> =
    LazyLock::new(|| TextKeys::new(&["content", "text", "arguments", "prompt", "input"]));

/// `ceil(chars / 4)`.
pub fn estimate_tokens(chars: u64) -> u64 {
    chars.div_ceil(4)
}

/// The number of characters in the string values of `keys`, anywhere in `json`. An escape
/// sequence counts as one character; a key whose value is not a string counts nothing.
pub fn text_chars(json: &[u8], keys: &TextKeys) -> u64 {
    let mut chars = 0;
    for key in &keys.0 {
        for value in key.values(json) {
            if json.get(value) == Some(&b'"') {
                let value_end = string_end(json, value + 1);
                chars += count_chars(json.get(value + 1..value_end).unwrap_or_default());
            }
        }
    }
    chars
}

/// The index of the quote that ends the string whose contents start at `start` (or the end of
/// `json` when it is cut short).
fn string_end(json: &[u8], start: usize) -> usize {
    let mut i = start;
    while let Some(offset) = json
        .get(i..)
        .and_then(|rest| memchr::memchr2(b'\\', b'"', rest))
    {
        let at = i + offset;
        if json.get(at) == Some(&b'"') {
            return at;
        }
        i = at + 2;
    }
    json.len()
}

/// Characters of a JSON string's raw contents: UTF-8 continuation bytes and the rest of an escape
/// sequence do not count.
fn count_chars(raw: &[u8]) -> u64 {
    let mut chars = 0;
    let mut i = 0;
    while let Some(b) = raw.get(i) {
        match b {
            b'\\' if raw.get(i + 1) == Some(&b'u') => i += 6,
            b'\\' => i += 2,
            _ => {
                i += 1;
                if b & 0xC0 == 0x80 {
                    continue;
                }
            }
        }
        chars += 1;
    }
    chars
}

#[cfg(test)]
mod tests {
    use super::*;
    use provider_sdk::json_member::skip_whitespace;

    #[test]
    fn counts_the_content_of_stream_chunks_and_nothing_else() {
        let sse = concat!(
            "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",",
            "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{\"content\":\"The answer to 1 + 1 is 2.\"}}]}\n\n",
            "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
            "data: [DONE]\n\n"
        );
        assert_eq!(text_chars(sse.as_bytes(), &GENERATED_KEYS), 25);
        assert_eq!(estimate_tokens(25), 7);
    }

    #[test]
    fn escapes_and_multibyte_characters_count_once() {
        let json = r#"{"content": "a\"b\n\u00e9é😀", "x": {"content": 1}}"#;
        // a, ", b, newline, é (escaped), é, 😀
        assert_eq!(text_chars(json.as_bytes(), &GENERATED_KEYS), 7);
    }

    #[test]
    fn keys_inside_strings_and_other_values_are_not_counted() {
        let json = r#"{"model":"content","role":"\"content\":\"no\"","text":"four"}"#;
        assert_eq!(text_chars(json.as_bytes(), &GENERATED_KEYS), 4);
    }

    #[test]
    fn prompt_text_of_messages_parts_and_prompts() {
        let chat = r#"{"model":"m","messages":[{"role":"system","content":"Be brief."},
            {"role":"user","content":[{"type":"text","text":"Hi"},{"type":"image_url","image_url":{"url":"x"}}]}]}"#;
        assert_eq!(text_chars(chat.as_bytes(), &PROMPT_KEYS), 11);
        let completion = r#"{"prompt":"Say this is a test"}"#;
        assert_eq!(text_chars(completion.as_bytes(), &PROMPT_KEYS), 18);
    }

    #[test]
    fn a_key_inside_a_string_after_an_escaped_quote_is_text() {
        let json = r#"{"a \"content": "no", "note": "x \"text", "text": "ok"}"#;
        assert_eq!(text_chars(json.as_bytes(), &GENERATED_KEYS), 2);
    }

    /// Every string visited in turn, as the count was first written: the reference.
    fn walking_every_string(json: &[u8], keys: &[&[u8]]) -> u64 {
        let mut chars = 0;
        let mut i = 0;
        while let Some(offset) = json.get(i..).and_then(|rest| memchr::memchr(b'"', rest)) {
            let start = i + offset + 1;
            let end = string_end(json, start);
            let name = json.get(start..end).unwrap_or_default();
            i = end + 1;
            let after_colon = skip_whitespace(json, i);
            if json.get(after_colon) != Some(&b':') {
                continue;
            }
            let value = skip_whitespace(json, after_colon + 1);
            if json.get(value) == Some(&b'"') && keys.contains(&name) {
                let value_end = string_end(json, value + 1);
                chars += count_chars(json.get(value + 1..value_end).unwrap_or_default());
                i = value_end + 1;
            } else {
                i = after_colon + 1;
            }
        }
        chars
    }

    #[test]
    fn counts_what_walking_every_string_counts_in_every_kong_fixture() {
        let root = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/kong-ai-proxy"
        );
        let mut files = vec![std::path::PathBuf::from(root)];
        let mut counted = 0;
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            // The `.bin` files are streams cut at arbitrary bytes, mid-string: the walk loses
            // track of which quotes open strings there, and the estimate never sees such cuts.
            if path.extension().is_some_and(|e| e == "bin") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let generated: &[&[u8]] = &[b"content", b"refusal", b"text", b"arguments"];
            let prompt: &[&[u8]] = &[b"content", b"text", b"arguments", b"prompt", b"input"];
            assert_eq!(
                text_chars(&bytes, &GENERATED_KEYS),
                walking_every_string(&bytes, generated),
                "{}",
                path.display()
            );
            assert_eq!(
                text_chars(&bytes, &PROMPT_KEYS),
                walking_every_string(&bytes, prompt),
                "{}",
                path.display()
            );
            counted += usize::from(text_chars(&bytes, &PROMPT_KEYS) > 0);
        }
        assert!(counted > 50, "only {counted} fixtures have text");
    }

    #[test]
    fn a_cut_string_ends_the_count_without_panicking() {
        assert_eq!(text_chars(br#"{"content":"abc"#, &GENERATED_KEYS), 3);
        assert_eq!(text_chars(br#"{"content":"ab\"#, &GENERATED_KEYS), 3);
        assert_eq!(text_chars(b"\"", &GENERATED_KEYS), 0);
        assert_eq!(estimate_tokens(0), 0);
    }
}
