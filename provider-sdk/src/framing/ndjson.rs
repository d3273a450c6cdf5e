//! Newline-delimited JSON (Ollama, Cohere v1 streams), decoded incrementally: one JSON document
//! per line.
//!
//! Lines end with LF; a CR before it is dropped, so CRLF works even when the CR and LF arrive in
//! different chunks. Lines holding only whitespace are skipped (keep-alives). Multi-byte
//! characters need no care: bytes are only split at LF, which never occurs inside one.

use super::FramingError;

/// Decodes an NDJSON byte stream pushed in arbitrary chunks.
#[derive(Debug)]
pub struct NdjsonDecoder {
    max_line_bytes: usize,
    /// The current line, when a chunk ended before its LF.
    line: Vec<u8>,
}

impl NdjsonDecoder {
    /// A decoder that refuses any line longer than `max_line_bytes`, so that a broken upstream
    /// cannot grow memory.
    pub fn new(max_line_bytes: usize) -> NdjsonDecoder {
        NdjsonDecoder {
            max_line_bytes,
            line: Vec::new(),
        }
    }

    /// Feeds the next chunk and calls `on_line` for every complete, non-blank line, without its
    /// line ending. After an error the decoder has dropped what it buffered.
    pub fn push<E: From<FramingError>>(
        &mut self,
        chunk: &[u8],
        mut on_line: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let result = self.push_inner(chunk, &mut on_line);
        if result.is_err() {
            self.line = Vec::new();
        }
        result
    }

    /// The stream ended: a last line without a line ending still counts.
    pub fn finish<E: From<FramingError>>(
        &mut self,
        mut on_line: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let line = std::mem::take(&mut self.line);
        emit(&line, &mut on_line)
    }

    fn push_inner<E: From<FramingError>>(
        &mut self,
        chunk: &[u8],
        on_line: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let (content, tail) = rest.split_at(end);
            rest = tail.get(1..).unwrap_or_default();
            if self.line.is_empty() {
                self.ensure_fits(content.len())?;
                emit(content, on_line)?;
            } else {
                self.ensure_fits(self.line.len() + content.len())?;
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(content);
                let result = emit(&line, on_line);
                line.clear();
                self.line = line;
                result?;
            }
        }
        if !rest.is_empty() {
            self.ensure_fits(self.line.len() + rest.len())?;
            self.line.extend_from_slice(rest);
        }
        Ok(())
    }

    fn ensure_fits(&self, len: usize) -> Result<(), FramingError> {
        if len > self.max_line_bytes {
            return Err(FramingError::EventTooLarge {
                limit: self.max_line_bytes,
            });
        }
        Ok(())
    }
}

fn emit<E>(line: &[u8], on_line: &mut impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    on_line(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_chunks(chunks: &[&[u8]], max: usize) -> Result<Vec<Vec<u8>>, FramingError> {
        let mut decoder = NdjsonDecoder::new(max);
        let mut lines = Vec::new();
        let mut collect = |line: &[u8]| -> Result<(), FramingError> {
            lines.push(line.to_vec());
            Ok(())
        };
        for chunk in chunks {
            decoder.push(chunk, &mut collect)?;
        }
        decoder.finish(&mut collect)?;
        Ok(lines)
    }

    /// LF and CRLF endings, blank and whitespace-only lines, multi-byte characters, and a last
    /// line without an ending.
    const STREAM: &[u8] = b"{\"message\":{\"content\":\"h\xC3\xA9\"}}\r\n\
\n\
   \r\n\
{\"message\":{\"content\":\"\xF0\x9F\x98\x80 \\n\"}}\n\
\t\n\
{\"done\":true,\"eval_count\":3}";

    fn expected() -> Vec<Vec<u8>> {
        vec![
            "{\"message\":{\"content\":\"hé\"}}".into(),
            "{\"message\":{\"content\":\"😀 \\n\"}}".into(),
            "{\"done\":true,\"eval_count\":3}".into(),
        ]
    }

    #[test]
    fn decodes_lines_and_skips_blank_ones() {
        assert_eq!(decode_chunks(&[STREAM], 1 << 20).unwrap(), expected());
    }

    #[test]
    fn every_single_split_gives_the_same_lines() {
        for at in 0..=STREAM.len() {
            let (a, b) = STREAM.split_at(at);
            assert_eq!(
                decode_chunks(&[a, b], 1 << 20).unwrap(),
                expected(),
                "split at {at}"
            );
        }
    }

    #[test]
    fn every_pair_of_splits_gives_the_same_lines() {
        for i in 0..=STREAM.len() {
            for j in i..=STREAM.len() {
                let chunks = [&STREAM[..i], &STREAM[i..j], &STREAM[j..]];
                assert_eq!(decode_chunks(&chunks, 64).unwrap(), expected(), "{i}/{j}");
            }
        }
    }

    #[test]
    fn byte_by_byte_gives_the_same_lines() {
        let chunks: Vec<&[u8]> = STREAM.chunks(1).collect();
        assert_eq!(decode_chunks(&chunks, 64).unwrap(), expected());
    }

    #[test]
    fn kong_complete_json_fixture() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/kong-ai-proxy/unit/streaming-chunk-formats/complete-json"
        );
        let input = std::fs::read(format!("{dir}/input.bin")).unwrap();
        let expected: Vec<serde_json::Value> =
            serde_json::from_slice(&std::fs::read(format!("{dir}/expected-output.json")).unwrap())
                .unwrap();
        let lines = decode_chunks(&[&input], 1 << 20).unwrap();
        let kong: Vec<&str> = expected.iter().filter_map(|e| e["data"].as_str()).collect();
        assert_eq!(kong.len(), 2);
        let ours: Vec<String> = lines
            .iter()
            .map(|l| String::from_utf8(l.clone()).unwrap())
            .collect();
        assert_eq!(ours, kong);
    }

    #[test]
    fn a_line_over_the_bound_is_an_error() {
        let long = format!("{{\"x\":\"{}\"}}\n", "a".repeat(100));
        assert_eq!(
            decode_chunks(&[long.as_bytes()], 64),
            Err(FramingError::EventTooLarge { limit: 64 })
        );
        let pieces: Vec<&[u8]> = vec![b"0123456789"; 10];
        assert_eq!(
            decode_chunks(&pieces, 64),
            Err(FramingError::EventTooLarge { limit: 64 })
        );
        let exactly = format!("{}\n", "a".repeat(64));
        assert_eq!(decode_chunks(&[exactly.as_bytes()], 64).unwrap().len(), 1);
    }

    #[test]
    fn a_callback_error_stops_decoding_and_drops_the_buffer() {
        let mut decoder = NdjsonDecoder::new(64);
        let mut seen = 0;
        let result = decoder.push(b"{}\n{}\n{\"partial\"", |_| {
            seen += 1;
            Err(FramingError::EventTooLarge { limit: 0 })
        });
        assert!(result.is_err());
        assert_eq!(seen, 1);
        let mut after = Vec::new();
        decoder
            .finish(|line| -> Result<(), FramingError> {
                after.push(line.to_vec());
                Ok(())
            })
            .unwrap();
        assert!(after.is_empty());
    }
}
