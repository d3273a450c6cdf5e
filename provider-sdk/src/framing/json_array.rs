//! One JSON array streamed element by element, as Gemini's `streamGenerateContent` answers
//! without `alt=sse`: `[{...}\r\n,{...}\r\n]`, decoded incrementally.
//!
//! The decoder does not parse JSON. It finds where each top-level element ends by following
//! strings, escapes and bracket nesting, and hands the element's exact bytes to a callback as soon
//! as its last byte arrives; whoever maps the element parses it. An element that lies whole within
//! one chunk is borrowed from it; only an element split across chunks is copied, into one buffer
//! that is reused. Kong reports the end of the array as a fake `[DONE]` element; here it is an
//! event of its own.

use crate::abi::ModuleError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonArrayEvent<'a> {
    /// One top-level element, from its first byte to its last, without the whitespace around it.
    /// Valid until the callback returns.
    Element(&'a [u8]),
    /// The array's closing bracket, delivered once, after every element.
    Closed,
}

/// Why a JSON array stream cannot be decoded any further. Offsets count from the stream's first
/// byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonArrayError {
    /// The body starts with something other than whitespace and `[`.
    NotAnArray { found: u8 },
    /// A byte that cannot stand where it does: a bracket that closes nothing or the wrong thing,
    /// two elements without a comma between them, a comma without an element, a string quote or
    /// colon inside a number or literal, or anything but whitespace after the array.
    Unexpected { found: u8, offset: u64 },
    /// One element grew past the decoder's bound before it ended.
    ElementTooLarge { limit: usize },
    /// The stream ended before the array's closing bracket.
    Unclosed,
}

impl std::fmt::Display for JsonArrayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JsonArrayError::NotAnArray { found } => write!(
                f,
                "upstream stream is not a JSON array: it starts with '{}'",
                found.escape_ascii()
            ),
            JsonArrayError::Unexpected { found, offset } => write!(
                f,
                "upstream JSON array stream has an unexpected '{}' at byte {offset}",
                found.escape_ascii()
            ),
            JsonArrayError::ElementTooLarge { limit } => {
                write!(f, "upstream JSON array element exceeds {limit} bytes")
            }
            JsonArrayError::Unclosed => {
                write!(
                    f,
                    "upstream JSON array stream ended before the array closed"
                )
            }
        }
    }
}

impl std::error::Error for JsonArrayError {}

impl From<JsonArrayError> for ModuleError {
    fn from(error: JsonArrayError) -> ModuleError {
        ModuleError::bad_upstream(error.to_string())
    }
}

/// Where the decoder is in the array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// Nothing but whitespace so far.
    BeforeArray,
    /// Just after `[`: an element or `]` comes next.
    ArrayStart,
    /// Just after a comma: an element must come next.
    AfterComma,
    Element(Scan),
    /// Just after an element: a comma or `]` comes next.
    AfterElement,
    Closed,
}

/// Where the decoder is inside an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// Inside an object or array, outside strings.
    Structure,
    String,
    /// Just after a backslash in a string, so a quote does not end it.
    Escape,
    /// In a top-level number, `true`, `false` or `null`, which only the next delimiter ends.
    Bare,
}

/// What one byte does to an element.
enum Step {
    Continue(Scan),
    /// The byte was the element's last.
    Complete,
    /// The element ended just before this byte, which belongs to the array.
    EndedBefore,
}

/// Decodes a streamed JSON array pushed in arbitrary chunks.
#[derive(Debug)]
pub struct JsonArrayDecoder {
    max_element_bytes: usize,
    position: Position,
    /// The current element's bytes, when a chunk ended inside it.
    element: Vec<u8>,
    /// The closing bracket of every object or array open in the current element, innermost
    /// last. It grows by at most one per byte of the element, so the element's bound bounds it.
    closers: Vec<u8>,
    /// Bytes of the stream before the current chunk, for error offsets.
    consumed: u64,
}

impl JsonArrayDecoder {
    /// A decoder that refuses any element larger than `max_element_bytes`, so that a broken
    /// upstream cannot grow memory.
    pub fn new(max_element_bytes: usize) -> JsonArrayDecoder {
        JsonArrayDecoder {
            max_element_bytes,
            position: Position::BeforeArray,
            element: Vec::new(),
            closers: Vec::new(),
            consumed: 0,
        }
    }

    /// Feeds the next chunk and calls `on_event` for every element it completes, and once for the
    /// closing bracket. After an error the decoder has dropped what it buffered; the stream cannot
    /// be trusted any further, though the elements already delivered were whole.
    pub fn push<E: From<JsonArrayError>>(
        &mut self,
        chunk: &[u8],
        mut on_event: impl FnMut(JsonArrayEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let result = self.push_inner(chunk, &mut on_event);
        if result.is_err() {
            self.discard();
        }
        result
    }

    /// The stream ended. Every element was delivered by `push`, so all that is left to say is
    /// whether the array was closed.
    pub fn finish(&mut self) -> Result<(), JsonArrayError> {
        self.discard();
        if self.position == Position::Closed {
            Ok(())
        } else {
            Err(JsonArrayError::Unclosed)
        }
    }

    fn push_inner<E: From<JsonArrayError>>(
        &mut self,
        chunk: &[u8],
        on_event: &mut impl FnMut(JsonArrayEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        // Where the current element starts in this chunk; one carried over continues at 0.
        let mut start = 0;
        for (index, &byte) in chunk.iter().enumerate() {
            if let Position::Element(scan) = self.position {
                let step = self
                    .step(scan, byte)
                    .ok_or_else(|| self.unexpected(byte, index))?;
                match step {
                    Step::Continue(scan) => {
                        self.ensure_fits(index + 1 - start)?;
                        self.position = Position::Element(scan);
                    }
                    Step::Complete => {
                        self.ensure_fits(index + 1 - start)?;
                        self.position = Position::AfterElement;
                        self.emit(chunk.get(start..=index).unwrap_or_default(), on_event)?;
                    }
                    Step::EndedBefore => {
                        self.position = Position::AfterElement;
                        self.emit(chunk.get(start..index).unwrap_or_default(), on_event)?;
                        self.between_elements(byte, index, on_event)?;
                    }
                }
            } else if self.between_elements(byte, index, on_event)? {
                start = index;
            }
        }
        if let Position::Element(_) = self.position {
            self.element
                .extend_from_slice(chunk.get(start..).unwrap_or_default());
        }
        self.consumed += chunk.len() as u64;
        Ok(())
    }

    /// Handles a byte outside any element; returns whether it starts one.
    fn between_elements<E: From<JsonArrayError>>(
        &mut self,
        byte: u8,
        index: usize,
        on_event: &mut impl FnMut(JsonArrayEvent<'_>) -> Result<(), E>,
    ) -> Result<bool, E> {
        match (self.position, byte) {
            (_, b' ' | b'\t' | b'\n' | b'\r') => {}
            (Position::BeforeArray, b'[') => self.position = Position::ArrayStart,
            (Position::BeforeArray, _) => {
                return Err(JsonArrayError::NotAnArray { found: byte }.into())
            }
            (Position::ArrayStart | Position::AfterElement, b']') => {
                self.position = Position::Closed;
                on_event(JsonArrayEvent::Closed)?;
            }
            (Position::AfterElement, b',') => self.position = Position::AfterComma,
            (Position::ArrayStart | Position::AfterComma, _) => {
                let scan = self
                    .begin(byte)
                    .ok_or_else(|| self.unexpected(byte, index))?;
                self.ensure_fits(1)?;
                self.position = Position::Element(scan);
                return Ok(true);
            }
            _ => return Err(self.unexpected(byte, index).into()),
        }
        Ok(false)
    }

    /// The scan an element starting with `byte` begins in, or `None` if no element starts so.
    fn begin(&mut self, byte: u8) -> Option<Scan> {
        match byte {
            b'{' => Some(self.open(b'}')),
            b'[' => Some(self.open(b']')),
            b'"' => Some(Scan::String),
            b'}' | b']' | b',' | b':' => None,
            _ => Some(Scan::Bare),
        }
    }

    fn open(&mut self, closer: u8) -> Scan {
        self.closers.push(closer);
        Scan::Structure
    }

    /// What `byte` does to an element in `scan`, or `None` if it cannot appear there.
    fn step(&mut self, scan: Scan, byte: u8) -> Option<Step> {
        let step = match (scan, byte) {
            (Scan::String, b'\\') => Step::Continue(Scan::Escape),
            (Scan::String, b'"') if self.closers.is_empty() => Step::Complete,
            (Scan::String, b'"') => Step::Continue(Scan::Structure),
            (Scan::String, _) | (Scan::Escape, _) => Step::Continue(Scan::String),
            (Scan::Structure, b'"') => Step::Continue(Scan::String),
            (Scan::Structure, b'{') => Step::Continue(self.open(b'}')),
            (Scan::Structure, b'[') => Step::Continue(self.open(b']')),
            (Scan::Structure, b'}' | b']') => {
                if self.closers.pop() != Some(byte) {
                    return None;
                }
                if self.closers.is_empty() {
                    Step::Complete
                } else {
                    Step::Continue(Scan::Structure)
                }
            }
            (Scan::Structure, _) => Step::Continue(Scan::Structure),
            (Scan::Bare, b' ' | b'\t' | b'\n' | b'\r' | b',' | b']') => Step::EndedBefore,
            (Scan::Bare, b'{' | b'}' | b'[' | b'"' | b':') => return None,
            (Scan::Bare, _) => Step::Continue(Scan::Bare),
        };
        Some(step)
    }

    /// Delivers the element that ends with `tail`.
    fn emit<E>(
        &mut self,
        tail: &[u8],
        on_event: &mut impl FnMut(JsonArrayEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.element.is_empty() {
            return on_event(JsonArrayEvent::Element(tail));
        }
        self.element.extend_from_slice(tail);
        let result = on_event(JsonArrayEvent::Element(&self.element));
        self.element.clear();
        result
    }

    /// Checks that the current element, with `in_chunk` more bytes from this chunk, is in bounds.
    fn ensure_fits(&self, in_chunk: usize) -> Result<(), JsonArrayError> {
        if self.element.len().saturating_add(in_chunk) > self.max_element_bytes {
            return Err(JsonArrayError::ElementTooLarge {
                limit: self.max_element_bytes,
            });
        }
        Ok(())
    }

    fn unexpected(&self, found: u8, index: usize) -> JsonArrayError {
        JsonArrayError::Unexpected {
            found,
            offset: self.consumed + index as u64,
        }
    }

    fn discard(&mut self) {
        self.element = Vec::new();
        self.closers = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KONG: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/kong-ai-proxy/unit/streaming-chunk-formats"
    );

    /// An element's text, or `[DONE]` for the closing bracket as Kong writes it.
    fn decode_chunks(chunks: &[&[u8]], max: usize) -> (Vec<String>, Result<(), JsonArrayError>) {
        let mut decoder = JsonArrayDecoder::new(max);
        let mut events = Vec::new();
        let mut collect = |event: JsonArrayEvent<'_>| -> Result<(), JsonArrayError> {
            events.push(match event {
                JsonArrayEvent::Element(bytes) => String::from_utf8(bytes.to_vec()).unwrap(),
                JsonArrayEvent::Closed => "[DONE]".to_owned(),
            });
            Ok(())
        };
        let mut result = Ok(());
        for chunk in chunks {
            result = decoder.push(chunk, &mut collect);
            if result.is_err() {
                break;
            }
        }
        let result = result.and_then(|()| decoder.finish());
        (events, result)
    }

    fn decode(stream: &[u8]) -> (Vec<String>, Result<(), JsonArrayError>) {
        decode_chunks(&[stream], 1 << 20)
    }

    fn kong_input(name: &str) -> Vec<u8> {
        std::fs::read(format!("{KONG}/{name}")).unwrap()
    }

    fn kong_expected(name: &str) -> Vec<String> {
        let expected: Vec<serde_json::Value> =
            serde_json::from_slice(&kong_input(&format!("{name}/expected-output.json"))).unwrap();
        expected
            .iter()
            .map(|e| e["data"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The text of each element's first candidate, joined, as Kong's split fixtures expect it.
    fn joined_text(elements: &[String]) -> String {
        elements
            .iter()
            .map(|e| {
                let value: serde_json::Value = serde_json::from_str(e).unwrap();
                value["candidates"][0]["content"]["parts"][0]["text"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn kong_partial_json_beginning() {
        let (events, result) = decode(&kong_input("partial-json-beginning/input.bin"));
        assert_eq!(events, kong_expected("partial-json-beginning"));
        assert_eq!(events.len(), 4);
        assert_eq!(result, Err(JsonArrayError::Unclosed), "no closing bracket");
    }

    #[test]
    fn kong_partial_json_end_continues_the_beginning() {
        // Kong feeds the end to a parser already inside the array; the beginning puts ours there.
        let beginning = kong_input("partial-json-beginning/input.bin");
        let end = kong_input("partial-json-end/input.bin");
        let (events, result) = decode_chunks(&[&beginning, &end], 1 << 20);
        let mut expected = kong_expected("partial-json-beginning");
        expected.extend(kong_expected("partial-json-end"));
        assert_eq!(expected.len(), 7);
        assert_eq!(expected.last().map(String::as_str), Some("[DONE]"));
        assert_eq!(events, expected);
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn kong_partial_json_split_in_two_and_three() {
        for (name, parts) in [
            ("partial-json-split", 2),
            ("partial-json-split-three-parts", 3),
        ] {
            let inputs: Vec<Vec<u8>> = (1..=parts)
                .map(|i| kong_input(&format!("{name}/input-{i}.bin")))
                .collect();
            let chunks: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
            let (events, result) = decode_chunks(&chunks, 1 << 20);
            let expected =
                String::from_utf8(kong_input(&format!("{name}/expected-output.bin"))).unwrap();
            assert_eq!(joined_text(&events), expected, "{name}");
            assert_eq!(result, Err(JsonArrayError::Unclosed), "{name}");
        }
    }

    const ELEMENTS: [&str; 3] = [
        r#"{"candidates":[{"content":{"parts":[{"text":"a [bracket] {brace}, \"quoted\", back\\slash \\\"x\\\\"}],"role":"model"},"index":0}]}"#,
        r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"s":"}]\"[{,","n":[1,-2.5e3,{"x":null}],"u":"h\u00e9 é"}}}],"role":"model"},"finishReason":"STOP","index":0}]}"#,
        r#"{"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":5,"totalTokenCount":8},"modelVersion":"gemini-2.0-flash"}"#,
    ];

    fn gemini_stream() -> String {
        format!(
            "[{}\r\n,{}\r\n,{}\r\n]",
            ELEMENTS[0], ELEMENTS[1], ELEMENTS[2]
        )
    }

    fn gemini_expected() -> Vec<String> {
        let mut expected: Vec<String> = ELEMENTS.iter().map(|e| (*e).to_owned()).collect();
        expected.push("[DONE]".to_owned());
        expected
    }

    #[test]
    fn synthesized_gemini_stream_gives_exact_elements() {
        for element in ELEMENTS {
            serde_json::from_str::<serde_json::Value>(element).unwrap();
        }
        let (events, result) = decode(gemini_stream().as_bytes());
        assert_eq!(events, gemini_expected());
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn every_single_split_gives_the_same_elements() {
        let stream = gemini_stream();
        let stream = stream.as_bytes();
        for at in 0..=stream.len() {
            let (a, b) = stream.split_at(at);
            assert_eq!(
                decode_chunks(&[a, b], 256),
                (gemini_expected(), Ok(())),
                "split at {at}"
            );
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(decode_chunks(&bytes, 256), (gemini_expected(), Ok(())));
    }

    #[test]
    fn every_pair_of_splits_gives_the_same_elements() {
        let stream = gemini_stream();
        let stream = stream.as_bytes();
        for i in 0..=stream.len() {
            for j in (i..=stream.len()).step_by(3) {
                let chunks = [&stream[..i], &stream[i..j], &stream[j..]];
                assert_eq!(
                    decode_chunks(&chunks, 256),
                    (gemini_expected(), Ok(())),
                    "{i}/{j}"
                );
            }
        }
    }

    #[test]
    fn top_level_values_of_every_kind() {
        let stream = br#" [ 1, -2.5e3 ,"a]\"\\",true,null,[],{} , [{"b":[]}] ]  "#;
        let expected: Vec<String> = [
            "1",
            "-2.5e3",
            r#""a]\"\\""#,
            "true",
            "null",
            "[]",
            "{}",
            r#"[{"b":[]}]"#,
            "[DONE]",
        ]
        .map(str::to_owned)
        .to_vec();
        for at in 0..=stream.len() {
            let (a, b) = stream.split_at(at);
            assert_eq!(
                decode_chunks(&[a, b], 64),
                (expected.clone(), Ok(())),
                "split at {at}"
            );
        }
    }

    #[test]
    fn empty_arrays_close_without_elements() {
        assert_eq!(decode(b"[]"), (vec!["[DONE]".to_owned()], Ok(())));
        assert_eq!(
            decode(b" \r\n[ \r\n ] \n"),
            (vec!["[DONE]".to_owned()], Ok(()))
        );
    }

    #[test]
    fn malformed_arrays_are_errors() {
        let unexpected = |found: u8, offset: u64| Err(JsonArrayError::Unexpected { found, offset });
        let cases: [(&[u8], Result<(), JsonArrayError>); 14] = [
            (
                b"{\"a\":1}",
                Err(JsonArrayError::NotAnArray { found: b'{' }),
            ),
            (b"  x[]", Err(JsonArrayError::NotAnArray { found: b'x' })),
            (b"[{\"a\":1]", unexpected(b']', 7)),
            (b"[{\"a\":[1}]", unexpected(b'}', 8)),
            (b"[[1}]", unexpected(b'}', 3)),
            (b"[{}}", unexpected(b'}', 3)),
            (b"[{} {}]", unexpected(b'{', 4)),
            (b"[{},]", unexpected(b']', 4)),
            (b"[,{}]", unexpected(b',', 1)),
            (b"[}]", unexpected(b'}', 1)),
            (b"[tru\"e]", unexpected(b'"', 4)),
            (b"[1:2]", unexpected(b':', 2)),
            (b"[1 2]", unexpected(b'2', 3)),
            (b"[] x", unexpected(b'x', 3)),
        ];
        for (stream, error) in cases {
            assert_eq!(decode(stream).1, error, "{}", stream.escape_ascii());
            for at in 0..=stream.len() {
                let (a, b) = stream.split_at(at);
                assert_eq!(decode_chunks(&[a, b], 64).1, error, "split at {at}");
            }
        }
    }

    #[test]
    fn elements_before_an_error_stay_delivered() {
        assert_eq!(
            decode(b"[{\"a\":1},{\"b\":2}] ,"),
            (
                vec![
                    "{\"a\":1}".to_owned(),
                    "{\"b\":2}".to_owned(),
                    "[DONE]".to_owned()
                ],
                Err(JsonArrayError::Unexpected {
                    found: b',',
                    offset: 18
                })
            )
        );
        assert_eq!(
            decode(b"[{\"a\":1},{\"b\":"),
            (vec!["{\"a\":1}".to_owned()], Err(JsonArrayError::Unclosed))
        );
        assert_eq!(decode(b""), (vec![], Err(JsonArrayError::Unclosed)));
        assert_eq!(decode(b"[1"), (vec![], Err(JsonArrayError::Unclosed)));
    }

    #[test]
    fn an_element_over_the_bound_is_an_error() {
        let at_limit = format!("{{\"a\":\"{}\"}}", "x".repeat(8));
        assert_eq!(at_limit.len(), 16);
        let stream = format!("[{at_limit},{at_limit}]");
        let stream = stream.as_bytes();
        let expected = vec![at_limit.clone(), at_limit.clone(), "[DONE]".to_owned()];
        let over = format!("[{{\"a\":\"{}\"}}]", "x".repeat(9));
        let over = over.as_bytes();
        let bare = format!("[{}]", "1".repeat(17));
        let too_large = Err(JsonArrayError::ElementTooLarge { limit: 16 });
        for at in 0..=stream.len() {
            let (a, b) = stream.split_at(at);
            assert_eq!(decode_chunks(&[a, b], 16), (expected.clone(), Ok(())));
        }
        for at in 0..=over.len() {
            let (a, b) = over.split_at(at);
            assert_eq!(decode_chunks(&[a, b], 16), (vec![], too_large.clone()));
        }
        assert_eq!(decode_chunks(&[bare.as_bytes()], 16).1, too_large);
        let pieces: Vec<&[u8]> = over.chunks(1).collect();
        assert_eq!(decode_chunks(&pieces, 16).1, too_large);
        let deep = "[".repeat(1 << 16);
        assert_eq!(decode_chunks(&[deep.as_bytes()], 16).1, too_large);
    }

    #[test]
    fn a_callback_error_stops_decoding() {
        let mut decoder = JsonArrayDecoder::new(64);
        let mut seen = 0;
        let result = decoder.push(b"[{},{}]", |_| {
            seen += 1;
            Err(JsonArrayError::Unclosed)
        });
        assert_eq!(result, Err(JsonArrayError::Unclosed));
        assert_eq!(seen, 1);
    }

    #[test]
    fn errors_become_bad_gateway() {
        let error = ModuleError::from(JsonArrayError::Unexpected {
            found: b'\n',
            offset: 12,
        });
        assert_eq!(error.status, 502);
        assert_eq!(error.kind.as_str(), "bad_gateway");
        assert_eq!(
            error.message.as_str(),
            "upstream JSON array stream has an unexpected '\\n' at byte 12"
        );
    }
}
