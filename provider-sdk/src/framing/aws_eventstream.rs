//! The binary `application/vnd.amazon.eventstream` framing that Bedrock's `ConverseStream`
//! answers with, decoded incrementally.
//!
//! A message is a 12-byte prelude (total length, headers length, and the CRC-32 of those 8
//! bytes), the headers, the payload, and the CRC-32 of everything before it. Kong skips both
//! checksums and drops a message that a chunk boundary splits; here a split message is
//! reassembled, and nothing past the prelude is interpreted before the message checksum matches.
//!
//! A message that lies whole within one chunk is handed to the callback borrowed from that chunk;
//! only a message split across chunks is copied, into one buffer that is reused.

use crate::abi::ModuleError;

/// AWS's own event-stream library (`aws-c-event-stream`) refuses messages over 16 MiB, so no
/// real message is larger.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 << 20;

/// Total length, headers length and prelude checksum.
const PRELUDE_BYTES: usize = 12;
const CHECKSUM_BYTES: usize = 4;
/// A message with no headers and no payload: its prelude and its message checksum.
const MIN_MESSAGE_BYTES: usize = PRELUDE_BYTES + CHECKSUM_BYTES;

/// Why an event stream cannot be decoded any further. Offsets count from the message's first byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventStreamError {
    /// The prelude's bytes do not match its checksum, so its lengths cannot be trusted.
    PreludeChecksum { expected: u32, computed: u32 },
    /// The message's bytes do not match its final checksum.
    MessageChecksum { expected: u32, computed: u32 },
    /// The total length is below the 16 bytes of a message without headers or payload.
    MessageTooShort { total_length: u32 },
    /// The total length is above the decoder's bound.
    MessageTooLarge { total_length: u32, limit: usize },
    /// The headers do not fit in the message beside the prelude and the message checksum.
    HeadersLength {
        headers_length: u32,
        total_length: u32,
    },
    /// A header's name or value runs past the end of the headers.
    HeaderTooLong { offset: usize },
    /// A header's name, or its string value, is not UTF-8.
    HeaderNotUtf8 { offset: usize },
    /// A header's value type is not one of the ten the format defines.
    HeaderValueType { value_type: u8, offset: usize },
    /// The stream ended inside a message.
    Truncated { buffered: usize },
    /// Encoding: a header name longer than the 255 bytes its one-byte length can count.
    HeaderNameTooLong { name_length: usize },
    /// Encoding: a string or byte-array header value longer than the 65535 bytes its two-byte
    /// length can count.
    HeaderValueTooLong {
        name_length: usize,
        value_length: usize,
    },
    /// Encoding: a message longer than the 4 GiB its four-byte total length can count.
    EncodedMessageTooLarge { total_length: usize },
}

impl std::fmt::Display for EventStreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EventStreamError::PreludeChecksum { expected, computed } => write!(
                f,
                "upstream event-stream prelude checksum is {expected:#010x} but its bytes give \
                 {computed:#010x}"
            ),
            EventStreamError::MessageChecksum { expected, computed } => write!(
                f,
                "upstream event-stream message checksum is {expected:#010x} but its bytes give \
                 {computed:#010x}"
            ),
            EventStreamError::MessageTooShort { total_length } => write!(
                f,
                "upstream event-stream message claims {total_length} bytes, fewer than the \
                 {MIN_MESSAGE_BYTES} of an empty message"
            ),
            EventStreamError::MessageTooLarge {
                total_length,
                limit,
            } => write!(
                f,
                "upstream event-stream message of {total_length} bytes exceeds {limit} bytes"
            ),
            EventStreamError::HeadersLength {
                headers_length,
                total_length,
            } => write!(
                f,
                "upstream event-stream message of {total_length} bytes claims {headers_length} \
                 bytes of headers, more than it can hold"
            ),
            EventStreamError::HeaderTooLong { offset } => write!(
                f,
                "upstream event-stream header at byte {offset} runs past the end of the headers"
            ),
            EventStreamError::HeaderNotUtf8 { offset } => write!(
                f,
                "upstream event-stream header at byte {offset} has a name or string value that \
                 is not UTF-8"
            ),
            EventStreamError::HeaderValueType { value_type, offset } => write!(
                f,
                "upstream event-stream header at byte {offset} has unknown value type {value_type}"
            ),
            EventStreamError::Truncated { buffered } => write!(
                f,
                "upstream event stream ended inside a message, after {buffered} bytes of it"
            ),
            EventStreamError::HeaderNameTooLong { name_length } => write!(
                f,
                "event-stream header name of {name_length} bytes exceeds the 255 the format allows"
            ),
            EventStreamError::HeaderValueTooLong {
                name_length,
                value_length,
            } => write!(
                f,
                "event-stream header value of {value_length} bytes (name of {name_length} bytes) \
                 exceeds the 65535 the format allows"
            ),
            EventStreamError::EncodedMessageTooLarge { total_length } => write!(
                f,
                "event-stream message of {total_length} bytes exceeds the 4 GiB the format allows"
            ),
        }
    }
}

impl std::error::Error for EventStreamError {}

impl From<EventStreamError> for ModuleError {
    fn from(error: EventStreamError) -> ModuleError {
        ModuleError::bad_upstream(error.to_string())
    }
}

/// A header's value, by the type byte that precedes it on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderValue<'a> {
    /// Types 0 (true) and 1 (false), which carry no value bytes.
    Bool(bool),
    Byte(i8),
    Short(i16),
    Integer(i32),
    Long(i64),
    ByteArray(&'a [u8]),
    String(&'a str),
    /// Milliseconds since the Unix epoch.
    Timestamp(i64),
    Uuid([u8; 16]),
}

/// One header of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    pub name: &'a str,
    pub value: HeaderValue<'a>,
}

/// One message whose checksums and headers have been verified. Valid until the callback returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    headers: &'a [u8],
    payload: &'a [u8],
}

impl<'a> Message<'a> {
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The headers in wire order.
    pub fn headers(&self) -> Headers<'a> {
        Headers {
            rest: self.headers,
            offset: PRELUDE_BYTES,
        }
    }

    /// The first header with this exact (case-sensitive) name.
    pub fn header(&self, name: &str) -> Option<HeaderValue<'a>> {
        self.headers()
            .find(|header| header.name == name)
            .map(|header| header.value)
    }

    /// The first header with this name, when its value is a string.
    pub fn header_str(&self, name: &str) -> Option<&'a str> {
        match self.header(name)? {
            HeaderValue::String(value) => Some(value),
            _ => None,
        }
    }

    /// `event`, `exception` or `error`.
    pub fn message_type(&self) -> Option<&'a str> {
        self.header_str(":message-type")
    }

    /// For an `event` message, which event it is, e.g. `contentBlockDelta`.
    pub fn event_type(&self) -> Option<&'a str> {
        self.header_str(":event-type")
    }

    /// For an `exception` message, which exception it is, e.g. `throttlingException`.
    pub fn exception_type(&self) -> Option<&'a str> {
        self.header_str(":exception-type")
    }

    pub fn content_type(&self) -> Option<&'a str> {
        self.header_str(":content-type")
    }
}

/// Iterates over a message's headers.
#[derive(Debug, Clone)]
pub struct Headers<'a> {
    rest: &'a [u8],
    /// Where `rest` starts in the message, for errors.
    offset: usize,
}

impl<'a> Headers<'a> {
    fn next_header(&mut self) -> Option<Result<Header<'a>, EventStreamError>> {
        if self.rest.is_empty() {
            return None;
        }
        let result = split_header(self.rest, self.offset);
        match result {
            Ok((_, rest)) => {
                self.offset += self.rest.len() - rest.len();
                self.rest = rest;
            }
            Err(_) => self.rest = &[],
        }
        Some(result.map(|(header, _)| header))
    }
}

impl<'a> Iterator for Headers<'a> {
    type Item = Header<'a>;

    fn next(&mut self) -> Option<Header<'a>> {
        // A `Message` is only built once all its headers parsed, so this never meets an error.
        self.next_header()?.ok()
    }
}

/// Decodes an event stream pushed in arbitrary chunks.
#[derive(Debug)]
pub struct EventStreamDecoder {
    max_message_bytes: usize,
    /// The start of a message that a chunk ended inside. It never holds more than the prelude
    /// until the prelude has been checked, and never more than the message's checked length.
    partial: Vec<u8>,
}

impl EventStreamDecoder {
    /// A decoder that refuses any message longer than `max_message_bytes` as soon as its prelude
    /// arrives, so that a broken upstream cannot grow memory.
    pub fn new(max_message_bytes: usize) -> EventStreamDecoder {
        EventStreamDecoder {
            max_message_bytes,
            partial: Vec::new(),
        }
    }

    /// Feeds the next chunk and calls `on_message` for every message it completes. After an error
    /// the decoder has dropped what it buffered; the stream cannot be trusted any further.
    pub fn push<E: From<EventStreamError>>(
        &mut self,
        chunk: &[u8],
        mut on_message: impl FnMut(Message<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let result = self.push_inner(chunk, &mut on_message);
        if result.is_err() {
            self.partial = Vec::new();
        }
        result
    }

    /// The stream ended. Every complete message was delivered by `push`, so all that is left to
    /// say is whether the stream stopped inside one.
    pub fn finish(&mut self) -> Result<(), EventStreamError> {
        let buffered = std::mem::take(&mut self.partial).len();
        if buffered == 0 {
            Ok(())
        } else {
            Err(EventStreamError::Truncated { buffered })
        }
    }

    fn push_inner<E: From<EventStreamError>>(
        &mut self,
        chunk: &[u8],
        on_message: &mut impl FnMut(Message<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut rest = if self.partial.is_empty() {
            chunk
        } else {
            self.complete_partial(chunk, on_message)?
        };
        while let Some(prelude) = rest.first_chunk::<PRELUDE_BYTES>() {
            let total = check_prelude(prelude, self.max_message_bytes)?;
            let Some((message, tail)) = rest.split_at_checked(total) else {
                break;
            };
            on_message(decode_message(message)?)?;
            rest = tail;
        }
        // Shorter than a prelude, or shorter than the checked length its prelude gives.
        self.partial.extend_from_slice(rest);
        Ok(())
    }

    /// Adds the start of `chunk` to the buffered message and delivers it if that completes it.
    /// Returns what follows the message in `chunk`, which is empty while it is still incomplete.
    fn complete_partial<'c, E: From<EventStreamError>>(
        &mut self,
        chunk: &'c [u8],
        on_message: &mut impl FnMut(Message<'_>) -> Result<(), E>,
    ) -> Result<&'c [u8], E> {
        // The prelude first: only once it is checked may the buffer grow to the length it gives.
        let rest = take_into(&mut self.partial, PRELUDE_BYTES, chunk);
        let Some(prelude) = self.partial.first_chunk::<PRELUDE_BYTES>() else {
            return Ok(rest);
        };
        let total = check_prelude(prelude, self.max_message_bytes)?;
        let rest = take_into(&mut self.partial, total, rest);
        if self.partial.len() < total {
            return Ok(rest);
        }
        let result = decode_message(&self.partial)
            .map_err(E::from)
            .and_then(on_message);
        self.partial.clear();
        result.map(|()| rest)
    }
}

/// Moves bytes from the front of `chunk` into `buffer` until it holds `target` bytes; returns
/// what is left of `chunk`.
fn take_into<'c>(buffer: &mut Vec<u8>, target: usize, chunk: &'c [u8]) -> &'c [u8] {
    let wanted = target.saturating_sub(buffer.len()).min(chunk.len());
    let (taken, rest) = chunk.split_at_checked(wanted).unwrap_or((chunk, &[]));
    buffer.extend_from_slice(taken);
    rest
}

/// Checks the prelude's checksum and lengths, and returns the message's total length.
fn check_prelude(prelude: &[u8; PRELUDE_BYTES], limit: usize) -> Result<usize, EventStreamError> {
    let [t0, t1, t2, t3, h0, h1, h2, h3, c0, c1, c2, c3] = *prelude;
    let total_length = u32::from_be_bytes([t0, t1, t2, t3]);
    let headers_length = u32::from_be_bytes([h0, h1, h2, h3]);
    let expected = u32::from_be_bytes([c0, c1, c2, c3]);
    let computed = crc32(&[t0, t1, t2, t3, h0, h1, h2, h3]);
    if computed != expected {
        return Err(EventStreamError::PreludeChecksum { expected, computed });
    }
    let total = usize::try_from(total_length).unwrap_or(usize::MAX);
    if total < MIN_MESSAGE_BYTES {
        return Err(EventStreamError::MessageTooShort { total_length });
    }
    if total > limit {
        return Err(EventStreamError::MessageTooLarge {
            total_length,
            limit,
        });
    }
    let headers = usize::try_from(headers_length).unwrap_or(usize::MAX);
    if headers > total - MIN_MESSAGE_BYTES {
        return Err(EventStreamError::HeadersLength {
            headers_length,
            total_length,
        });
    }
    Ok(total)
}

/// Decodes one whole message whose prelude `check_prelude` accepted.
fn decode_message(message: &[u8]) -> Result<Message<'_>, EventStreamError> {
    // `check_prelude` has made every split below succeed; were one to fail, the message would be
    // shorter than its prelude says.
    let truncated = EventStreamError::Truncated {
        buffered: message.len(),
    };
    let (covered, checksum) = message
        .split_last_chunk::<CHECKSUM_BYTES>()
        .ok_or_else(|| truncated.clone())?;
    let expected = u32::from_be_bytes(*checksum);
    let computed = crc32(covered);
    if computed != expected {
        return Err(EventStreamError::MessageChecksum { expected, computed });
    }
    let (prelude, body) = covered
        .split_first_chunk::<PRELUDE_BYTES>()
        .ok_or_else(|| truncated.clone())?;
    let [_, _, _, _, h0, h1, h2, h3, ..] = *prelude;
    let headers_length =
        usize::try_from(u32::from_be_bytes([h0, h1, h2, h3])).unwrap_or(usize::MAX);
    let (headers, payload) = body.split_at_checked(headers_length).ok_or(truncated)?;
    let message = Message { headers, payload };
    let mut check = message.headers();
    while let Some(header) = check.next_header() {
        header?;
    }
    Ok(message)
}

/// Parses the header at the start of `bytes`, which sits at `offset` in the message, and returns
/// it with the bytes after it.
fn split_header(bytes: &[u8], offset: usize) -> Result<(Header<'_>, &[u8]), EventStreamError> {
    let too_long = EventStreamError::HeaderTooLong { offset };
    let not_utf8 = EventStreamError::HeaderNotUtf8 { offset };
    let (&name_length, rest) = bytes.split_first().ok_or_else(|| too_long.clone())?;
    let (name, rest) = rest
        .split_at_checked(usize::from(name_length))
        .ok_or_else(|| too_long.clone())?;
    let name = std::str::from_utf8(name).map_err(|_| not_utf8.clone())?;
    let (&value_type, rest) = rest.split_first().ok_or_else(|| too_long.clone())?;
    let (value, rest) = match value_type {
        0 => (HeaderValue::Bool(true), rest),
        1 => (HeaderValue::Bool(false), rest),
        2 => fixed(rest, &too_long, |b| HeaderValue::Byte(i8::from_be_bytes(b)))?,
        3 => fixed(rest, &too_long, |b| {
            HeaderValue::Short(i16::from_be_bytes(b))
        })?,
        4 => fixed(rest, &too_long, |b| {
            HeaderValue::Integer(i32::from_be_bytes(b))
        })?,
        5 => fixed(rest, &too_long, |b| {
            HeaderValue::Long(i64::from_be_bytes(b))
        })?,
        6 => {
            let (bytes, rest) = counted(rest, &too_long)?;
            (HeaderValue::ByteArray(bytes), rest)
        }
        7 => {
            let (bytes, rest) = counted(rest, &too_long)?;
            let text = std::str::from_utf8(bytes).map_err(|_| not_utf8)?;
            (HeaderValue::String(text), rest)
        }
        8 => fixed(rest, &too_long, |b| {
            HeaderValue::Timestamp(i64::from_be_bytes(b))
        })?,
        9 => fixed(rest, &too_long, HeaderValue::Uuid)?,
        _ => return Err(EventStreamError::HeaderValueType { value_type, offset }),
    };
    Ok((Header { name, value }, rest))
}

/// A value of `N` bytes at the start of `bytes`, and the bytes after it.
fn fixed<'a, const N: usize>(
    bytes: &'a [u8],
    too_long: &EventStreamError,
    value: impl FnOnce([u8; N]) -> HeaderValue<'a>,
) -> Result<(HeaderValue<'a>, &'a [u8]), EventStreamError> {
    let (head, rest) = bytes
        .split_first_chunk::<N>()
        .ok_or_else(|| too_long.clone())?;
    Ok((value(*head), rest))
}

/// A value preceded by its 16-bit length, and the bytes after it.
fn counted<'a>(
    bytes: &'a [u8],
    too_long: &EventStreamError,
) -> Result<(&'a [u8], &'a [u8]), EventStreamError> {
    let (length, rest) = bytes
        .split_first_chunk::<2>()
        .ok_or_else(|| too_long.clone())?;
    rest.split_at_checked(usize::from(u16::from_be_bytes(*length)))
        .ok_or_else(|| too_long.clone())
}

/// Encodes one message: prelude, headers in the given order, payload and both checksums.
///
/// The gateway only decodes event streams; this is here so that tests, mock upstreams and
/// benchmarks build their frames with the same checksum and header layout the decoder reads,
/// instead of each keeping its own copy. Lengths the format cannot express are errors.
pub fn encode_message(
    headers: &[(&str, HeaderValue<'_>)],
    payload: &[u8],
) -> Result<Vec<u8>, EventStreamError> {
    let mut encoded_headers = Vec::new();
    for (name, value) in headers {
        let name_length =
            u8::try_from(name.len()).map_err(|_| EventStreamError::HeaderNameTooLong {
                name_length: name.len(),
            })?;
        encoded_headers.push(name_length);
        encoded_headers.extend_from_slice(name.as_bytes());
        encode_header_value(&mut encoded_headers, name.len(), *value)?;
    }
    let total = MIN_MESSAGE_BYTES
        .saturating_add(encoded_headers.len())
        .saturating_add(payload.len());
    // The headers are part of the total, so a total that fits means their length fits too.
    let too_large = EventStreamError::EncodedMessageTooLarge {
        total_length: total,
    };
    let total_length = u32::try_from(total).map_err(|_| too_large.clone())?;
    let headers_length = u32::try_from(encoded_headers.len()).map_err(|_| too_large)?;
    let mut message = Vec::with_capacity(total);
    message.extend_from_slice(&total_length.to_be_bytes());
    message.extend_from_slice(&headers_length.to_be_bytes());
    message.extend_from_slice(&crc32(&message).to_be_bytes());
    message.extend_from_slice(&encoded_headers);
    message.extend_from_slice(payload);
    message.extend_from_slice(&crc32(&message).to_be_bytes());
    Ok(message)
}

/// Encodes an `event` message as AWS services stream them (Bedrock's ConverseStream among them):
/// `:event-type`, a JSON `:content-type` and `:message-type: event`, then the payload.
pub fn encode_event(event_type: &str, payload: &[u8]) -> Result<Vec<u8>, EventStreamError> {
    encode_message(
        &[
            (":event-type", HeaderValue::String(event_type)),
            (":content-type", HeaderValue::String("application/json")),
            (":message-type", HeaderValue::String("event")),
        ],
        payload,
    )
}

/// Encodes an `exception` message: `:exception-type`, a JSON `:content-type` and
/// `:message-type: exception`, then the payload (the exception's JSON body).
pub fn encode_exception(exception_type: &str, payload: &[u8]) -> Result<Vec<u8>, EventStreamError> {
    encode_message(
        &[
            (":exception-type", HeaderValue::String(exception_type)),
            (":content-type", HeaderValue::String("application/json")),
            (":message-type", HeaderValue::String("exception")),
        ],
        payload,
    )
}

/// Appends a header value's type byte and bytes, the inverse of `split_header`.
fn encode_header_value(
    out: &mut Vec<u8>,
    name_length: usize,
    value: HeaderValue<'_>,
) -> Result<(), EventStreamError> {
    match value {
        HeaderValue::Bool(true) => out.push(0),
        HeaderValue::Bool(false) => out.push(1),
        HeaderValue::Byte(v) => {
            out.push(2);
            out.extend_from_slice(&v.to_be_bytes());
        }
        HeaderValue::Short(v) => {
            out.push(3);
            out.extend_from_slice(&v.to_be_bytes());
        }
        HeaderValue::Integer(v) => {
            out.push(4);
            out.extend_from_slice(&v.to_be_bytes());
        }
        HeaderValue::Long(v) => {
            out.push(5);
            out.extend_from_slice(&v.to_be_bytes());
        }
        HeaderValue::ByteArray(v) => {
            out.push(6);
            encode_counted(out, name_length, v)?;
        }
        HeaderValue::String(v) => {
            out.push(7);
            encode_counted(out, name_length, v.as_bytes())?;
        }
        HeaderValue::Timestamp(v) => {
            out.push(8);
            out.extend_from_slice(&v.to_be_bytes());
        }
        HeaderValue::Uuid(v) => {
            out.push(9);
            out.extend_from_slice(&v);
        }
    }
    Ok(())
}

/// Appends a value preceded by its 16-bit length, the inverse of `counted`.
fn encode_counted(
    out: &mut Vec<u8>,
    name_length: usize,
    bytes: &[u8],
) -> Result<(), EventStreamError> {
    let length = u16::try_from(bytes.len()).map_err(|_| EventStreamError::HeaderValueTooLong {
        name_length,
        value_length: bytes.len(),
    })?;
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(bytes);
    Ok(())
}

/// CRC-32 as in IEEE 802.3 and zlib (reflected polynomial 0xEDB88320), which both checksums use.
/// A byte-wise table is fast enough for the few kilobytes a model streams per second, and saves a
/// dependency.
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |crc, &byte| {
        CRC32_TABLE[usize::from(crc.to_le_bytes()[0] ^ byte)] ^ (crc >> 8)
    })
}

const CRC32_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut index = 0;
    while index < 256 {
        let mut crc = index as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[index] = crc;
        index += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/specs/bedrock-runtime/eventstream-test-vectors"
    );
    const KONG: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/kong-ai-proxy"
    );

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum OwnedValue {
        Bool(bool),
        Byte(i8),
        Short(i16),
        Integer(i32),
        Long(i64),
        ByteArray(Vec<u8>),
        String(String),
        Timestamp(i64),
        Uuid([u8; 16]),
    }

    impl From<HeaderValue<'_>> for OwnedValue {
        fn from(value: HeaderValue<'_>) -> OwnedValue {
            match value {
                HeaderValue::Bool(v) => OwnedValue::Bool(v),
                HeaderValue::Byte(v) => OwnedValue::Byte(v),
                HeaderValue::Short(v) => OwnedValue::Short(v),
                HeaderValue::Integer(v) => OwnedValue::Integer(v),
                HeaderValue::Long(v) => OwnedValue::Long(v),
                HeaderValue::ByteArray(v) => OwnedValue::ByteArray(v.to_vec()),
                HeaderValue::String(v) => OwnedValue::String(v.to_owned()),
                HeaderValue::Timestamp(v) => OwnedValue::Timestamp(v),
                HeaderValue::Uuid(v) => OwnedValue::Uuid(v),
            }
        }
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Owned {
        headers: Vec<(String, OwnedValue)>,
        payload: Vec<u8>,
    }

    fn owned(message: Message<'_>) -> Owned {
        Owned {
            headers: message
                .headers()
                .map(|h| (h.name.to_owned(), h.value.into()))
                .collect(),
            payload: message.payload().to_vec(),
        }
    }

    fn decode_chunks(chunks: &[&[u8]], max: usize) -> Result<Vec<Owned>, EventStreamError> {
        let mut decoder = EventStreamDecoder::new(max);
        let mut messages = Vec::new();
        for chunk in chunks {
            decoder.push(chunk, |m| -> Result<(), EventStreamError> {
                messages.push(owned(m));
                Ok(())
            })?;
        }
        decoder.finish()?;
        Ok(messages)
    }

    fn decode(stream: &[u8]) -> Result<Vec<Owned>, EventStreamError> {
        decode_chunks(&[stream], DEFAULT_MAX_MESSAGE_BYTES)
    }

    fn vector(name: &str) -> Vec<u8> {
        std::fs::read(format!("{VECTORS}/{name}")).unwrap()
    }

    /// Encodes a message the way an AWS service does, so that tests can build any header.
    fn encode(headers: &[(&str, HeaderValue<'_>)], payload: &[u8]) -> Vec<u8> {
        encode_message(headers, payload).unwrap()
    }

    /// Wraps raw header bytes and a payload in a prelude and checksums that are right.
    fn frame(headers: &[u8], payload: &[u8]) -> Vec<u8> {
        let total = u32::try_from(MIN_MESSAGE_BYTES + headers.len() + payload.len()).unwrap();
        let mut out = Vec::new();
        out.extend_from_slice(&total.to_be_bytes());
        out.extend_from_slice(&u32::try_from(headers.len()).unwrap().to_be_bytes());
        out.extend_from_slice(&crc32(&out).to_be_bytes());
        out.extend_from_slice(headers);
        out.extend_from_slice(payload);
        out.extend_from_slice(&crc32(&out).to_be_bytes());
        out
    }

    /// Recomputes a message's final checksum after a test changed its bytes.
    fn fix_message_checksum(message: &mut Vec<u8>) {
        let total = usize::try_from(u32::from_be_bytes(message[..4].try_into().unwrap())).unwrap();
        message.truncate(total);
        let crc = crc32(&message[..total - 4]);
        message[total - 4..].copy_from_slice(&crc.to_be_bytes());
    }

    fn string(s: &str) -> OwnedValue {
        OwnedValue::String(s.to_owned())
    }

    fn all_headers_expected() -> Owned {
        Owned {
            headers: vec![
                ("true".into(), OwnedValue::Bool(true)),
                ("false".into(), OwnedValue::Bool(false)),
                ("byte".into(), OwnedValue::Byte(50)),
                ("short".into(), OwnedValue::Short(20_000)),
                ("int".into(), OwnedValue::Integer(500_000)),
                ("long".into(), OwnedValue::Long(50_000_000_000)),
                (
                    "bytes".into(),
                    OwnedValue::ByteArray(b"some bytes".to_vec()),
                ),
                ("str".into(), string("some str")),
                ("time".into(), OwnedValue::Timestamp(5_000_000_000)),
                (
                    "uuid".into(),
                    OwnedValue::Uuid(0xb79bc914_de21_4e13_b8b2_bc47e85b7f0b_u128.to_be_bytes()),
                ),
            ],
            payload: b"some payload".to_vec(),
        }
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn valid_vectors_decode() {
        assert_eq!(
            decode(&vector("valid_with_all_headers_and_payload")).unwrap(),
            vec![all_headers_expected()]
        );
        assert_eq!(
            decode(&vector("valid_empty_payload")).unwrap(),
            vec![Owned {
                headers: vec![("some-header".into(), OwnedValue::Short(500))],
                payload: vec![],
            }]
        );
        assert_eq!(
            decode(&vector("valid_no_headers")).unwrap(),
            vec![Owned {
                headers: vec![],
                payload: b"another test payload".to_vec(),
            }]
        );
    }

    #[test]
    fn valid_vectors_split_anywhere_and_back_to_back() {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for name in [
            "valid_with_all_headers_and_payload",
            "valid_empty_payload",
            "valid_no_headers",
        ] {
            stream.extend(vector(name));
            expected.extend(decode(&vector(name)).unwrap());
        }
        assert_eq!(decode(&stream).unwrap(), expected);
        for at in 0..=stream.len() {
            let (a, b) = stream.split_at(at);
            assert_eq!(
                decode_chunks(&[a, b], 256).unwrap(),
                expected,
                "split at {at}"
            );
        }
        for size in 1..=17 {
            let chunks: Vec<&[u8]> = stream.chunks(size).collect();
            assert_eq!(decode_chunks(&chunks, 256).unwrap(), expected, "{size}");
        }
    }

    #[test]
    fn invalid_vectors_are_rejected_before_any_header_is_read() {
        let cases = [
            (
                "invalid_prelude_checksum",
                EventStreamError::PreludeChecksum {
                    expected: 0xDEAD_BEEF,
                    computed: 0x8BB4_95FB,
                },
            ),
            (
                "invalid_headers_length",
                EventStreamError::HeadersLength {
                    headers_length: 77,
                    total_length: 89,
                },
            ),
            (
                "invalid_message_checksum",
                EventStreamError::MessageChecksum {
                    expected: 0xDEAD_BEEF,
                    computed: 0x01A0_5860,
                },
            ),
        ];
        for (name, error) in cases {
            assert_eq!(decode(&vector(name)), Err(error), "{name}");
        }
        // These were made by editing a valid message without fixing its checksum, so the checksum
        // is what catches them; the next test repairs it to reach the header checks.
        for name in [
            "invalid_header_name_length",
            "invalid_header_name_length_too_long",
            "invalid_header_string_length_cut_off",
            "invalid_header_string_value_length",
            "invalid_header_value_type",
        ] {
            assert!(
                matches!(
                    decode(&vector(name)),
                    Err(EventStreamError::MessageChecksum { .. })
                ),
                "{name}"
            );
        }
    }

    #[test]
    fn invalid_header_vectors_with_a_correct_checksum_fail_in_their_header() {
        let cases = [
            // The name of the third header, `byte` at byte 25, claims 255 bytes.
            (
                "invalid_header_name_length",
                EventStreamError::HeaderTooLong { offset: 25 },
            ),
            // The second header's name, at byte 18, claims 102 bytes of a 77-byte section.
            (
                "invalid_header_name_length_too_long",
                EventStreamError::HeaderTooLong { offset: 18 },
            ),
            // The headers end inside the length of the `str` header, at byte 83.
            (
                "invalid_header_string_length_cut_off",
                EventStreamError::HeaderTooLong { offset: 83 },
            ),
            // The `str` value claims 65535 bytes.
            (
                "invalid_header_string_value_length",
                EventStreamError::HeaderTooLong { offset: 83 },
            ),
            (
                "invalid_header_value_type",
                EventStreamError::HeaderValueType {
                    value_type: 0x60,
                    offset: 25,
                },
            ),
        ];
        for (name, error) in cases {
            let mut message = vector(name);
            fix_message_checksum(&mut message);
            assert_eq!(decode(&message), Err(error), "{name}");
        }
    }

    #[test]
    fn every_header_type_round_trips() {
        let uuid = *b"0123456789abcdef";
        let long_name = "n".repeat(255);
        let long_string = "s".repeat(usize::from(u16::MAX));
        let headers = [
            ("t", HeaderValue::Bool(true)),
            ("f", HeaderValue::Bool(false)),
            ("byte", HeaderValue::Byte(-128)),
            ("short", HeaderValue::Short(-2)),
            ("int", HeaderValue::Integer(i32::MIN)),
            ("long", HeaderValue::Long(-1)),
            ("bytes", HeaderValue::ByteArray(&[0, 255, 7])),
            ("empty-bytes", HeaderValue::ByteArray(&[])),
            ("str", HeaderValue::String("h\u{e9}llo \u{1F600}")),
            ("empty-str", HeaderValue::String("")),
            ("time", HeaderValue::Timestamp(1_700_000_000_123)),
            ("uuid", HeaderValue::Uuid(uuid)),
            (long_name.as_str(), HeaderValue::String(&long_string)),
            ("", HeaderValue::Bool(true)),
        ];
        let encoded = encode(&headers, b"{\"x\":1}");
        let mut decoder = EventStreamDecoder::new(DEFAULT_MAX_MESSAGE_BYTES);
        let mut seen = 0;
        decoder
            .push(&encoded, |message| -> Result<(), EventStreamError> {
                seen += 1;
                let decoded: Vec<(&str, HeaderValue<'_>)> = message
                    .headers()
                    .map(|header| (header.name, header.value))
                    .collect();
                assert_eq!(decoded, headers);
                assert_eq!(message.header("short"), Some(HeaderValue::Short(-2)));
                assert_eq!(message.header_str("str"), Some("h\u{e9}llo \u{1F600}"));
                assert_eq!(message.header_str("short"), None, "not a string");
                assert_eq!(message.header_str("STR"), None, "names are case-sensitive");
                assert_eq!(message.header("missing"), None);
                assert_eq!(message.payload(), b"{\"x\":1}");
                Ok(())
            })
            .unwrap();
        decoder.finish().unwrap();
        assert_eq!(seen, 1);
    }

    #[test]
    fn encoding_the_aws_vector_gives_its_bytes() {
        let expected = vector("valid_with_all_headers_and_payload");
        let owned = decode(&expected).unwrap().remove(0);
        let headers: Vec<(&str, HeaderValue<'_>)> = owned
            .headers
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    OwnedValue::Bool(v) => HeaderValue::Bool(*v),
                    OwnedValue::Byte(v) => HeaderValue::Byte(*v),
                    OwnedValue::Short(v) => HeaderValue::Short(*v),
                    OwnedValue::Integer(v) => HeaderValue::Integer(*v),
                    OwnedValue::Long(v) => HeaderValue::Long(*v),
                    OwnedValue::ByteArray(v) => HeaderValue::ByteArray(v),
                    OwnedValue::String(v) => HeaderValue::String(v),
                    OwnedValue::Timestamp(v) => HeaderValue::Timestamp(*v),
                    OwnedValue::Uuid(v) => HeaderValue::Uuid(*v),
                };
                (name.as_str(), value)
            })
            .collect();
        assert_eq!(encode_message(&headers, &owned.payload).unwrap(), expected);
        assert_eq!(
            encode_message(&[], b"another test payload").unwrap(),
            vector("valid_no_headers")
        );
    }

    #[test]
    fn lengths_the_format_cannot_hold_are_encoding_errors() {
        let long_name = "n".repeat(256);
        assert_eq!(
            encode_message(&[(long_name.as_str(), HeaderValue::Bool(true))], b""),
            Err(EventStreamError::HeaderNameTooLong { name_length: 256 })
        );
        let long_string = "s".repeat(usize::from(u16::MAX) + 1);
        assert_eq!(
            encode_message(&[("str", HeaderValue::String(&long_string))], b""),
            Err(EventStreamError::HeaderValueTooLong {
                name_length: 3,
                value_length: 65_536
            })
        );
        assert_eq!(
            encode_message(
                &[
                    ("ok", HeaderValue::Bool(true)),
                    ("bytes", HeaderValue::ByteArray(long_string.as_bytes()))
                ],
                b""
            ),
            Err(EventStreamError::HeaderValueTooLong {
                name_length: 5,
                value_length: 65_536
            })
        );
        assert_eq!(
            EventStreamError::HeaderNameTooLong { name_length: 256 }.to_string(),
            "event-stream header name of 256 bytes exceeds the 255 the format allows"
        );
    }

    #[test]
    fn bedrock_headers_have_accessors() {
        let event = encode(
            &[
                (":event-type", HeaderValue::String("contentBlockDelta")),
                (":content-type", HeaderValue::String("application/json")),
                (":message-type", HeaderValue::String("event")),
            ],
            b"{}",
        );
        let exception = encode(
            &[
                (
                    ":exception-type",
                    HeaderValue::String("throttlingException"),
                ),
                (":content-type", HeaderValue::String("application/json")),
                (":message-type", HeaderValue::String("exception")),
            ],
            b"{\"message\":\"slow down\"}",
        );
        let mut stream = event.clone();
        stream.extend_from_slice(&exception);
        let mut seen = Vec::new();
        EventStreamDecoder::new(1024)
            .push(&stream, |m| -> Result<(), EventStreamError> {
                let owned = |value: Option<&str>| value.map(str::to_owned);
                seen.push((
                    owned(m.message_type()),
                    owned(m.event_type()),
                    owned(m.exception_type()),
                    owned(m.content_type()),
                ));
                Ok(())
            })
            .unwrap();
        let some = |value: &str| Some(value.to_owned());
        assert_eq!(
            seen,
            vec![
                (
                    some("event"),
                    some("contentBlockDelta"),
                    None,
                    some("application/json")
                ),
                (
                    some("exception"),
                    None,
                    some("throttlingException"),
                    some("application/json")
                ),
            ]
        );
    }

    #[test]
    fn kong_aws_fixture_gives_its_six_events() {
        let dir = format!("{KONG}/unit/streaming-chunk-formats/aws");
        let input = std::fs::read(format!("{dir}/input.bin")).unwrap();
        let expected: Vec<serde_json::Value> =
            serde_json::from_slice(&std::fs::read(format!("{dir}/expected-output.json")).unwrap())
                .unwrap();
        let mut decoder = EventStreamDecoder::new(DEFAULT_MAX_MESSAGE_BYTES);
        let mut events = Vec::new();
        decoder
            .push(&input, |m| -> Result<(), EventStreamError> {
                let headers: serde_json::Map<String, serde_json::Value> = m
                    .headers()
                    .map(|h| match h.value {
                        HeaderValue::String(v) => (h.name.to_owned(), v.into()),
                        other => panic!("unexpected header value {other:?}"),
                    })
                    .collect();
                let body = std::str::from_utf8(m.payload()).unwrap().to_owned();
                events.push(serde_json::json!({"headers": headers, "body": body}));
                Ok(())
            })
            .unwrap();
        decoder.finish().unwrap();
        let kong: Vec<serde_json::Value> = expected
            .iter()
            .map(|e| serde_json::from_str(e["data"].as_str().unwrap()).unwrap())
            .collect();
        assert_eq!(kong.len(), 6);
        assert_eq!(events, kong);
    }

    /// Standard base64, enough to read the fixture chunks.
    fn base64(text: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let mut bits = 0u32;
        let mut count = 0;
        for c in text
            .bytes()
            .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        {
            let value = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => panic!("not base64: {c}"),
            };
            bits = (bits << 6 | u32::from(value)) & 0xFFFF;
            count += 6;
            if count >= 8 {
                count -= 8;
                out.push((bits >> count) as u8);
            }
        }
        out
    }

    #[test]
    fn base64_decodes_the_rfc_4648_examples() {
        assert_eq!(base64("Zm9vYmFy"), b"foobar");
        assert_eq!(base64("Zm9vYg=="), b"foob");
        assert_eq!(base64("Zm9vYmE=\n"), b"fooba");
    }

    fn bedrock_chunks() -> Vec<Vec<u8>> {
        (1..=3)
            .map(|i| {
                let text = std::fs::read_to_string(format!("{KONG}/bedrock/chunks/chunk-{i}.txt"))
                    .unwrap();
                base64(&text)
            })
            .collect()
    }

    #[test]
    fn kong_bedrock_chunks_give_the_tool_call_stream() {
        let chunks = bedrock_chunks();
        let mut decoder = EventStreamDecoder::new(DEFAULT_MAX_MESSAGE_BYTES);
        let mut event_types = Vec::new();
        let mut tool_input = String::new();
        for chunk in &chunks {
            decoder
                .push(chunk, |m| -> Result<(), EventStreamError> {
                    assert_eq!(m.message_type(), Some("event"));
                    assert_eq!(m.content_type(), Some("application/json"));
                    let event_type = m.event_type().unwrap().to_owned();
                    if event_type == "contentBlockDelta" {
                        let body: serde_json::Value = serde_json::from_slice(m.payload()).unwrap();
                        tool_input.push_str(body["delta"]["toolUse"]["input"].as_str().unwrap());
                    }
                    event_types.push(event_type);
                    Ok(())
                })
                .unwrap();
        }
        decoder.finish().unwrap();
        assert_eq!(
            event_types,
            [
                "messageStart",
                "contentBlockStart",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockDelta",
                "contentBlockStop",
                "messageStop",
                "metadata"
            ]
        );
        assert_eq!(tool_input, r#"{"a": 2, "b": 12}"#);
    }

    #[test]
    fn kong_bedrock_stream_split_anywhere_gives_the_same_messages() {
        let stream = bedrock_chunks().concat();
        let expected = decode(&stream).unwrap();
        assert_eq!(expected.len(), 10);
        for at in 0..=stream.len() {
            let (a, b) = stream.split_at(at);
            assert_eq!(
                decode_chunks(&[a, b], 1024).unwrap(),
                expected,
                "split at {at}"
            );
        }
        for i in (0..=stream.len()).step_by(7) {
            for j in (i..=stream.len()).step_by(13) {
                let chunks = [&stream[..i], &stream[i..j], &stream[j..]];
                assert_eq!(decode_chunks(&chunks, 1024).unwrap(), expected, "{i}/{j}");
            }
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(decode_chunks(&bytes, 1024).unwrap(), expected);
    }

    #[test]
    fn a_message_too_large_is_refused_from_its_prelude_alone() {
        let mut prelude = Vec::new();
        prelude.extend_from_slice(&(1u32 << 30).to_be_bytes());
        prelude.extend_from_slice(&0u32.to_be_bytes());
        prelude.extend_from_slice(&crc32(&prelude).to_be_bytes());
        let mut decoder = EventStreamDecoder::new(DEFAULT_MAX_MESSAGE_BYTES);
        let mut ignore = |_: Message<'_>| -> Result<(), EventStreamError> { Ok(()) };
        decoder.push(&prelude[..5], &mut ignore).unwrap();
        assert_eq!(
            decoder.push(&prelude[5..], &mut ignore),
            Err(EventStreamError::MessageTooLarge {
                total_length: 1 << 30,
                limit: DEFAULT_MAX_MESSAGE_BYTES,
            })
        );
        assert_eq!(decoder.finish(), Ok(()), "the buffer was dropped");

        let message = encode(&[("a", HeaderValue::Bool(true))], &[b'x'; 40]);
        assert_eq!(message.len(), 59);
        assert_eq!(decode_chunks(&[&message], 59).unwrap().len(), 1);
        assert_eq!(
            decode_chunks(&[&message], 58),
            Err(EventStreamError::MessageTooLarge {
                total_length: 59,
                limit: 58
            })
        );
    }

    #[test]
    fn impossible_lengths_are_errors() {
        let prelude = |total: u32, headers: u32| {
            let mut out = Vec::new();
            out.extend_from_slice(&total.to_be_bytes());
            out.extend_from_slice(&headers.to_be_bytes());
            out.extend_from_slice(&crc32(&out).to_be_bytes());
            out.resize(out.len().max(usize::try_from(total).unwrap()), 0);
            out
        };
        assert_eq!(
            decode(&prelude(15, 0)),
            Err(EventStreamError::MessageTooShort { total_length: 15 })
        );
        assert_eq!(
            decode(&prelude(0, 0)),
            Err(EventStreamError::MessageTooShort { total_length: 0 })
        );
        assert_eq!(
            decode(&prelude(20, 5)),
            Err(EventStreamError::HeadersLength {
                headers_length: 5,
                total_length: 20
            })
        );
        assert_eq!(
            decode(&prelude(20, u32::MAX)),
            Err(EventStreamError::HeadersLength {
                headers_length: u32::MAX,
                total_length: 20
            })
        );
        let empty = frame(&[], &[]);
        assert_eq!(
            decode(&empty).unwrap(),
            vec![Owned {
                headers: vec![],
                payload: vec![]
            }]
        );
    }

    #[test]
    fn malformed_headers_with_correct_checksums_are_errors() {
        let cases: [(&[u8], EventStreamError); 7] = [
            (b"\x05ab", EventStreamError::HeaderTooLong { offset: 12 }),
            (b"\x01a", EventStreamError::HeaderTooLong { offset: 12 }),
            (
                b"\x01a\x04\x00\x00\x00",
                EventStreamError::HeaderTooLong { offset: 12 },
            ),
            (
                b"\x01a\x07\x00\x03ab",
                EventStreamError::HeaderTooLong { offset: 12 },
            ),
            (
                b"\x01a\x00\x01b\x09abc",
                EventStreamError::HeaderTooLong { offset: 15 },
            ),
            (
                b"\x01a\x00\x01b\x0a",
                EventStreamError::HeaderValueType {
                    value_type: 10,
                    offset: 15,
                },
            ),
            (
                b"\x01\xff\x00",
                EventStreamError::HeaderNotUtf8 { offset: 12 },
            ),
        ];
        for (headers, error) in cases {
            assert_eq!(
                decode(&frame(headers, b"payload")),
                Err(error),
                "{headers:?}"
            );
        }
        assert_eq!(
            decode(&frame(b"\x01a\x07\x00\x02\xc3\x28", b"")),
            Err(EventStreamError::HeaderNotUtf8 { offset: 12 })
        );
    }

    #[test]
    fn a_stream_that_stops_inside_a_message_is_truncated() {
        let message = vector("valid_no_headers");
        for at in 1..message.len() {
            assert_eq!(
                decode_chunks(&[&message[..at]], 1024),
                Err(EventStreamError::Truncated { buffered: at }),
                "{at}"
            );
        }
        assert_eq!(decode_chunks(&[], 1024), Ok(vec![]));
    }

    #[test]
    fn a_corrupt_message_after_good_ones_keeps_the_good_ones() {
        let mut stream = vector("valid_no_headers");
        stream.extend(vector("invalid_message_checksum"));
        let mut decoder = EventStreamDecoder::new(1024);
        let mut seen = Vec::new();
        let result = decoder.push(&stream, |m| -> Result<(), EventStreamError> {
            seen.push(m.payload().to_vec());
            Ok(())
        });
        assert!(matches!(
            result,
            Err(EventStreamError::MessageChecksum { .. })
        ));
        assert_eq!(seen, vec![b"another test payload".to_vec()]);
    }

    #[test]
    fn a_callback_error_stops_decoding() {
        let stream = [vector("valid_no_headers"), vector("valid_no_headers")].concat();
        for at in [0, 10, 36, 40] {
            let mut decoder = EventStreamDecoder::new(1024);
            let mut seen = 0;
            let mut fail = |_: Message<'_>| {
                seen += 1;
                Err(EventStreamError::Truncated { buffered: 0 })
            };
            let result = decoder
                .push(&stream[..at], &mut fail)
                .and_then(|()| decoder.push(&stream[at..], &mut fail));
            assert_eq!(result, Err(EventStreamError::Truncated { buffered: 0 }));
            assert_eq!(seen, 1, "{at}");
        }
    }

    #[test]
    fn errors_become_bad_gateway() {
        let error = ModuleError::from(EventStreamError::MessageChecksum {
            expected: 0xDEAD_BEEF,
            computed: 0x01A0_5860,
        });
        assert_eq!(error.status, 502);
        assert_eq!(error.kind.as_str(), "bad_gateway");
        assert_eq!(
            error.message.as_str(),
            "upstream event-stream message checksum is 0xdeadbeef but its bytes give 0x01a05860"
        );
    }

    #[test]
    fn events_and_exceptions_carry_the_headers_the_decoder_reads() {
        let mut stream = encode_event("contentBlockDelta", b"{\"a\":1}").unwrap();
        stream.extend(encode_exception("throttlingException", b"{\"message\":\"slow\"}").unwrap());
        let mut decoder = EventStreamDecoder::new(1 << 20);
        let mut seen = Vec::new();
        decoder
            .push(&stream, |m| -> Result<(), EventStreamError> {
                seen.push((
                    m.message_type().map(str::to_owned),
                    m.event_type().or(m.exception_type()).map(str::to_owned),
                    m.content_type().map(str::to_owned),
                    m.payload().to_vec(),
                ));
                Ok(())
            })
            .unwrap();
        let json = Some("application/json".to_string());
        assert_eq!(
            seen,
            vec![
                (
                    Some("event".to_string()),
                    Some("contentBlockDelta".to_string()),
                    json.clone(),
                    b"{\"a\":1}".to_vec()
                ),
                (
                    Some("exception".to_string()),
                    Some("throttlingException".to_string()),
                    json,
                    b"{\"message\":\"slow\"}".to_vec()
                ),
            ]
        );
    }
}
