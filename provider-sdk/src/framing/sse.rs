//! Server-sent events as the WHATWG HTML standard defines them (§9.2 "Server-sent events",
//! "Interpreting an event stream"), decoded incrementally.
//!
//! Upstream chunks are split wherever the network split them: inside a field name, between the CR
//! and LF of a line ending, inside a multi-byte character. The decoder keeps the unfinished line
//! and event across calls and hands each complete event to a callback, borrowing its buffers, so a
//! steady stream allocates nothing per event.

use super::FramingError;

/// The terminator OpenAI's streams end with.
pub const DONE_EVENT: &[u8] = b"data: [DONE]\n\n";

const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

/// One dispatched event. The slices are valid until the callback returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseEvent<'a> {
    /// The `event:` field; empty when the event did not name one (a `message` event).
    pub event: &'a [u8],
    /// The `data:` lines joined with `\n`.
    pub data: &'a [u8],
    /// The last event ID the stream set, which persists across events; empty when none.
    pub id: &'a [u8],
}

/// How far the stream's optional leading byte order mark has been matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamStart {
    /// This many bytes of the mark have been seen and held back.
    Matching(usize),
    Done,
}

/// Decodes an SSE byte stream pushed in arbitrary chunks.
#[derive(Debug)]
pub struct SseDecoder {
    max_event_bytes: usize,
    start: StreamStart,
    /// The current line, when a chunk ended before its line ending.
    line: Vec<u8>,
    /// The previous chunk ended with CR, so an LF that starts the next one belongs to it.
    after_cr: bool,
    event_type: Vec<u8>,
    /// Each `data:` value followed by LF, as the standard builds its data buffer.
    data: Vec<u8>,
    last_id: Vec<u8>,
}

impl SseDecoder {
    /// A decoder that refuses any event (its data, its event name and its unfinished line
    /// together) larger than `max_event_bytes`, so that a broken upstream cannot grow memory.
    pub fn new(max_event_bytes: usize) -> SseDecoder {
        SseDecoder {
            max_event_bytes,
            start: StreamStart::Matching(0),
            line: Vec::new(),
            after_cr: false,
            event_type: Vec::new(),
            data: Vec::new(),
            last_id: Vec::new(),
        }
    }

    /// Feeds the next chunk and calls `on_event` for every event it completes. After an error the
    /// decoder has dropped what it buffered; the stream cannot be trusted any further.
    pub fn push<E: From<FramingError>>(
        &mut self,
        chunk: &[u8],
        mut on_event: impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let result = self.push_inner(chunk, &mut on_event);
        if result.is_err() {
            self.discard();
        }
        result
    }

    /// The stream ended: a final line without a line ending still counts, and an event without
    /// its blank line is dispatched rather than lost (OpenAI-compatible servers often end with
    /// `data: [DONE]` and no newline).
    pub fn finish<E: From<FramingError>>(
        &mut self,
        mut on_event: impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let result = self.finish_inner(&mut on_event);
        self.discard();
        result
    }

    fn push_inner<E: From<FramingError>>(
        &mut self,
        chunk: &[u8],
        on_event: &mut impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let StreamStart::Matching(matched) = self.start else {
            return self.feed(chunk, on_event);
        };
        let mut matched = matched;
        for (consumed, &byte) in chunk.iter().enumerate() {
            if BYTE_ORDER_MARK.get(matched) == Some(&byte) {
                matched += 1;
                if matched == BYTE_ORDER_MARK.len() {
                    self.start = StreamStart::Done;
                    return self.feed(chunk.get(consumed + 1..).unwrap_or_default(), on_event);
                }
            } else {
                self.start = StreamStart::Done;
                self.feed(BYTE_ORDER_MARK.get(..matched).unwrap_or_default(), on_event)?;
                return self.feed(chunk.get(consumed..).unwrap_or_default(), on_event);
            }
        }
        self.start = StreamStart::Matching(matched);
        Ok(())
    }

    fn finish_inner<E: From<FramingError>>(
        &mut self,
        on_event: &mut impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if let StreamStart::Matching(matched) = self.start {
            self.start = StreamStart::Done;
            self.feed(BYTE_ORDER_MARK.get(..matched).unwrap_or_default(), on_event)?;
        }
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, on_event)?;
        }
        self.dispatch(on_event)
    }

    fn feed<E: From<FramingError>>(
        &mut self,
        chunk: &[u8],
        on_event: &mut impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut rest = chunk;
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if let Some(after_lf) = rest.strip_prefix(b"\n") {
                rest = after_lf;
            }
        }
        while let Some(end) = memchr::memchr2(b'\n', b'\r', rest) {
            let (content, ending) = rest.split_at(end);
            rest = match ending {
                [b'\r', b'\n', tail @ ..] => tail,
                [b'\r'] => {
                    self.after_cr = true;
                    &[]
                }
                [_, tail @ ..] => tail,
                [] => &[],
            };
            if self.line.is_empty() {
                self.process_line(content, on_event)?;
            } else {
                self.ensure_fits(content.len())?;
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(content);
                let result = self.process_line(&line, on_event);
                line.clear();
                self.line = line;
                result?;
            }
        }
        if !rest.is_empty() {
            self.ensure_fits(rest.len())?;
            self.line.extend_from_slice(rest);
        }
        Ok(())
    }

    fn process_line<E: From<FramingError>>(
        &mut self,
        line: &[u8],
        on_event: &mut impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if line.is_empty() {
            return self.dispatch(on_event);
        }
        if line.starts_with(b":") {
            return Ok(());
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let (field, rest) = line.split_at(colon);
                let value = rest.get(1..).unwrap_or_default();
                (field, value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                self.ensure_fits(value.len() + 1)?;
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
            }
            b"event" => {
                self.ensure_fits(value.len().saturating_sub(self.event_type.len()))?;
                self.event_type.clear();
                self.event_type.extend_from_slice(value);
            }
            b"id" if !value.contains(&0) => {
                if value.len() > self.max_event_bytes {
                    return Err(self.too_large().into());
                }
                self.last_id.clear();
                self.last_id.extend_from_slice(value);
            }
            // `retry` only matters to a client that reconnects, and unknown fields are ignored by
            // the standard.
            _ => {}
        }
        Ok(())
    }

    fn dispatch<E>(
        &mut self,
        on_event: &mut impl FnMut(SseEvent<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.data.is_empty() {
            self.event_type.clear();
            return Ok(());
        }
        self.data.pop();
        let result = on_event(SseEvent {
            event: &self.event_type,
            data: &self.data,
            id: &self.last_id,
        });
        self.data.clear();
        self.event_type.clear();
        result
    }

    fn ensure_fits(&self, extra: usize) -> Result<(), FramingError> {
        let buffered = self.data.len() + self.event_type.len() + self.line.len();
        if buffered.saturating_add(extra) > self.max_event_bytes {
            return Err(self.too_large());
        }
        Ok(())
    }

    fn too_large(&self) -> FramingError {
        FramingError::EventTooLarge {
            limit: self.max_event_bytes,
        }
    }

    fn discard(&mut self) {
        self.line = Vec::new();
        self.data = Vec::new();
        self.event_type = Vec::new();
        self.after_cr = false;
    }
}

/// Appends `data` as one `data:` event. Each line of `data` (split at CRLF, CR or LF) gets its own
/// `data:` field, so a decoder joins them back into the same bytes.
pub fn write_data_event(out: &mut Vec<u8>, data: &[u8]) {
    out.reserve(data.len() + 8);
    let mut rest = data;
    loop {
        let end = memchr::memchr2(b'\n', b'\r', rest);
        let (line, ending) = rest.split_at(end.unwrap_or(rest.len()));
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line);
        out.push(b'\n');
        rest = match ending {
            [] => break,
            [b'\r', b'\n', tail @ ..] => tail,
            [_, tail @ ..] => tail,
        };
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Owned {
        event: Vec<u8>,
        data: Vec<u8>,
        id: Vec<u8>,
    }

    fn owned(event: &str, data: &str, id: &str) -> Owned {
        Owned {
            event: event.as_bytes().to_vec(),
            data: data.as_bytes().to_vec(),
            id: id.as_bytes().to_vec(),
        }
    }

    fn decode_chunks(chunks: &[&[u8]], max: usize) -> Result<Vec<Owned>, FramingError> {
        let mut decoder = SseDecoder::new(max);
        let mut events = Vec::new();
        let mut collect = |e: SseEvent<'_>| -> Result<(), FramingError> {
            events.push(Owned {
                event: e.event.to_vec(),
                data: e.data.to_vec(),
                id: e.id.to_vec(),
            });
            Ok(())
        };
        for chunk in chunks {
            decoder.push(chunk, &mut collect)?;
        }
        decoder.finish(&mut collect)?;
        Ok(events)
    }

    fn decode(stream: &[u8]) -> Vec<Owned> {
        decode_chunks(&[stream], 1 << 20).unwrap()
    }

    /// CRLF, CR and LF endings, comments and keep-alives, multi-line data, named events, ids, a
    /// field without a colon, multi-byte characters and a final `[DONE]` without a newline.
    const MIXED_STREAM: &[u8] = b": keep-alive\r\n\r\n\
event: message_start\r\n\
id: 7\r\n\
data: {\"text\":\"h\xC3\xA9llo \xF0\x9F\x98\x80\"}\r\n\r\n\
data: first line\n\
data:second line\n\
data:  leading space kept\n\
\n\
:ping\r\
data\r\
\r\
event: ignored-without-data\n\n\
data: \xE2\x82\xAC\r\n\
\r\n\
data: [DONE]";

    fn mixed_expected() -> Vec<Owned> {
        vec![
            owned("message_start", "{\"text\":\"héllo 😀\"}", "7"),
            owned("", "first line\nsecond line\n leading space kept", "7"),
            owned("", "", "7"),
            owned("", "€", "7"),
            owned("", "[DONE]", "7"),
        ]
    }

    #[test]
    fn decodes_every_line_ending_comments_and_fields() {
        assert_eq!(decode(MIXED_STREAM), mixed_expected());
    }

    #[test]
    fn every_single_split_gives_the_same_events() {
        let expected = mixed_expected();
        for at in 0..=MIXED_STREAM.len() {
            let (a, b) = MIXED_STREAM.split_at(at);
            assert_eq!(
                decode_chunks(&[a, b], 1 << 20).unwrap(),
                expected,
                "split at {at}"
            );
        }
    }

    #[test]
    fn every_pair_of_splits_gives_the_same_events() {
        let stream: &[u8] =
            b"data: a\r\n\r\n: c\r\ndata: \xC3\xA9\rdata: x\r\rdata: [DONE]\r\n\r\n";
        let expected = vec![
            owned("", "a", ""),
            owned("", "é\nx", ""),
            owned("", "[DONE]", ""),
        ];
        assert_eq!(decode(stream), expected);
        for i in 0..=stream.len() {
            for j in i..=stream.len() {
                let chunks = [&stream[..i], &stream[i..j], &stream[j..]];
                assert_eq!(decode_chunks(&chunks, 64).unwrap(), expected, "{i}/{j}");
            }
        }
    }

    #[test]
    fn byte_by_byte_gives_the_same_events() {
        let chunks: Vec<&[u8]> = MIXED_STREAM.chunks(1).collect();
        assert_eq!(decode_chunks(&chunks, 1 << 20).unwrap(), mixed_expected());
    }

    #[test]
    fn kong_text_event_stream_fixture() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/kong-ai-proxy/unit/streaming-chunk-formats/text-event-stream"
        );
        let input = std::fs::read(format!("{dir}/input.bin")).unwrap();
        let expected: Vec<serde_json::Value> =
            serde_json::from_slice(&std::fs::read(format!("{dir}/expected-output.json")).unwrap())
                .unwrap();

        let mut decoder = SseDecoder::new(1 << 20);
        let mut pushed = Vec::new();
        decoder
            .push(&input, |e| -> Result<(), FramingError> {
                pushed.push(String::from_utf8(e.data.to_vec()).unwrap());
                Ok(())
            })
            .unwrap();
        let kong: Vec<&str> = expected.iter().filter_map(|e| e["data"].as_str()).collect();
        assert_eq!(kong.len(), 3);
        assert_eq!(pushed, kong);

        let mut finished = Vec::new();
        decoder
            .finish(|e| -> Result<(), FramingError> {
                finished.push(e.data.to_vec());
                Ok(())
            })
            .unwrap();
        assert_eq!(finished, vec![b"[DONE]".to_vec()]);
    }

    #[test]
    fn a_leading_byte_order_mark_is_skipped_even_when_split() {
        let stream = b"\xEF\xBB\xBFdata: x\n\n";
        for at in 0..=stream.len() {
            let (a, b) = stream.split_at(at);
            assert_eq!(
                decode_chunks(&[a, b], 64).unwrap(),
                vec![owned("", "x", "")]
            );
        }
        assert_eq!(
            decode(b"\xEF\xBBdata: x\n\n"),
            vec![],
            "a partial mark is part of the first field name"
        );
        assert_eq!(decode(b"\xEF\xBB"), vec![]);
    }

    #[test]
    fn an_id_with_nul_is_ignored_and_ids_persist() {
        let events = decode(b"id: 1\ndata: a\n\nid: 2\0\ndata: b\n\nid\ndata: c\n\n");
        assert_eq!(
            events,
            vec![owned("", "a", "1"), owned("", "b", "1"), owned("", "c", "")]
        );
    }

    #[test]
    fn unknown_fields_and_retry_are_ignored() {
        let events = decode(b"retry: 10\nfoo: bar\ndata: a\nevent\n\n");
        assert_eq!(events, vec![owned("", "a", "")]);
    }

    #[test]
    fn an_event_over_the_bound_is_an_error() {
        let big = format!("data: {}\n\n", "x".repeat(100));
        assert_eq!(
            decode_chunks(&[big.as_bytes()], 64),
            Err(FramingError::EventTooLarge { limit: 64 })
        );
        let lines = "data: 0123456789\n".repeat(10);
        assert_eq!(
            decode_chunks(&[lines.as_bytes()], 64),
            Err(FramingError::EventTooLarge { limit: 64 })
        );
        let unterminated: Vec<&[u8]> = vec![b"data: 0123456789"; 10];
        assert_eq!(
            decode_chunks(&unterminated, 64),
            Err(FramingError::EventTooLarge { limit: 64 })
        );
        let within = format!("data: {}\n\n", "x".repeat(57));
        assert_eq!(
            decode_chunks(&[within.as_bytes()], 64).unwrap(),
            vec![owned("", &"x".repeat(57), "")]
        );
    }

    #[test]
    fn comments_never_accumulate() {
        let pings = ": ping\n".repeat(1000);
        assert_eq!(decode_chunks(&[pings.as_bytes()], 16).unwrap(), vec![]);
    }

    #[test]
    fn a_callback_error_stops_decoding() {
        let mut decoder = SseDecoder::new(64);
        let mut seen = 0;
        let result = decoder.push(b"data: a\n\ndata: b\n\n", |_| {
            seen += 1;
            Err(FramingError::EventTooLarge { limit: 0 })
        });
        assert_eq!(result, Err(FramingError::EventTooLarge { limit: 0 }));
        assert_eq!(seen, 1);
    }

    #[test]
    fn write_data_event_frames_and_round_trips() {
        let mut out = Vec::new();
        write_data_event(&mut out, b"{\"a\":1}");
        assert_eq!(out, b"data: {\"a\":1}\n\n");

        out.clear();
        write_data_event(&mut out, b"one\ntwo\r\nthree\rfour");
        assert_eq!(
            out,
            b"data: one\ndata: two\ndata: three\ndata: four\n\n".to_vec()
        );
        assert_eq!(decode(&out), vec![owned("", "one\ntwo\nthree\nfour", "")]);

        out.clear();
        write_data_event(&mut out, b"");
        assert_eq!(out, b"data: \n\n");
        assert_eq!(decode(&out), vec![owned("", "", "")]);

        out.clear();
        write_data_event(&mut out, b"trailing\n");
        assert_eq!(decode(&out), vec![owned("", "trailing\n", "")]);
    }
}
