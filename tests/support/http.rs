//! A minimal HTTP/1.1 client over `std::net`, so that tests control every byte they send (a missing
//! `Content-Type`, a body that is not JSON) and can read a streamed response event by event while
//! the upstream is still holding the rest.

use std::{
    io::{BufRead, BufReader, Write},
    net::TcpStream,
    time::Duration,
};

use serde_json::Value;

/// How long one read may block. Only stops a test that would hang; a passing read returns as soon
/// as its bytes arrive.
const READ_GUARD: Duration = Duration::from_secs(60);

pub fn get(url: &str) -> Request {
    Request::new("GET", url)
}

pub fn post(url: &str) -> Request {
    Request::new("POST", url)
}

pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Request {
    pub fn new(method: &str, url: &str) -> Request {
        Request {
            method: method.to_string(),
            url: url.to_string(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sends `body` as JSON with `Content-Type: application/json`.
    pub fn json(self, body: &Value) -> Request {
        self.header("content-type", "application/json")
            .body(serde_json::to_vec(body).unwrap())
    }

    /// Sends `body` as given, with no `Content-Type` unless a header sets one.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = Some(body.into());
        self
    }

    /// Sends the request and reads the whole response.
    pub fn send(self) -> Response {
        let description = format!("{} {}", self.method, self.url);
        let mut stream = self.open();
        let body = stream
            .read_to_end()
            .unwrap_or_else(|e| panic!("{description}: reading the response body failed: {e}"));
        Response {
            status: stream.status,
            headers: stream.headers,
            body,
        }
    }

    /// Sends the request and returns once the response head has arrived; the body is read from
    /// the returned stream as it comes.
    pub fn open(self) -> Stream {
        let (authority, target) = split_url(&self.url);
        let mut socket = TcpStream::connect(authority)
            .unwrap_or_else(|e| panic!("cannot connect to {authority}: {e}"));
        socket.set_read_timeout(Some(READ_GUARD)).unwrap();
        socket.set_nodelay(true).unwrap();

        let mut head = format!("{} {target} HTTP/1.1\r\nhost: {authority}\r\n", self.method);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = &self.body {
            head.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        head.push_str("connection: close\r\n\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(self.body.as_deref().unwrap_or_default());
        socket
            .write_all(&bytes)
            .unwrap_or_else(|e| panic!("{} {}: sending failed: {e}", self.method, self.url));

        let mut reader = BufReader::new(socket);
        let (status, headers) = read_head(&mut reader)
            .unwrap_or_else(|e| panic!("{} {}: no response head: {e}", self.method, self.url));
        let body = BodyReader::for_response(&self.method, status, &headers, reader);
        Stream {
            status,
            headers,
            body,
            buffer: Vec::new(),
        }
    }
}

fn split_url(url: &str) -> (&str, &str) {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("only http:// URLs are supported, not {url}"));
    match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    }
}

/// Reads a status line and headers, up to and including the blank line.
pub(crate) fn read_head(
    reader: &mut impl BufRead,
) -> std::io::Result<(u16, Vec<(String, String)>)> {
    let status_line = read_line(reader)?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
    Ok((status, read_headers(reader)?))
}

pub(crate) fn read_headers(reader: &mut impl BufRead) -> std::io::Result<Vec<(String, String)>> {
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader)?;
        if line.is_empty() {
            return Ok(headers);
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("bad header line {line:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
}

/// Reads one CRLF- or LF-terminated line, without its terminator. EOF before any byte is an error.
pub(crate) fn read_line(reader: &mut impl BufRead) -> std::io::Result<String> {
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    String::from_utf8(line).map_err(|e| invalid(e.to_string()))
}

pub(crate) fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message)
}

pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Reads a message body by its framing, one piece at a time.
pub(crate) enum BodyReader<R> {
    Chunked { reader: R, done: bool },
    Length { reader: R, remaining: usize },
    UntilClose { reader: R, done: bool },
}

impl<R: BufRead> BodyReader<R> {
    fn for_response(method: &str, status: u16, headers: &[(String, String)], reader: R) -> Self {
        if method == "HEAD" || status == 204 || status == 304 {
            return BodyReader::Length {
                reader,
                remaining: 0,
            };
        }
        BodyReader::for_message(headers, reader).unwrap_or_else(|reader| BodyReader::UntilClose {
            reader,
            done: false,
        })
    }

    /// The body of a message that declares its length or chunking; hands the reader back when
    /// it declares neither.
    pub(crate) fn for_message(headers: &[(String, String)], reader: R) -> Result<Self, R> {
        let chunked = header(headers, "transfer-encoding")
            .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
        if chunked {
            return Ok(BodyReader::Chunked {
                reader,
                done: false,
            });
        }
        match header(headers, "content-length").and_then(|v| v.parse().ok()) {
            Some(remaining) => Ok(BodyReader::Length { reader, remaining }),
            None => Err(reader),
        }
    }

    /// The next piece of the body as it arrives; empty at the end.
    pub(crate) fn next_piece(&mut self) -> std::io::Result<Vec<u8>> {
        match self {
            BodyReader::Chunked { reader, done } => {
                if *done {
                    return Ok(Vec::new());
                }
                let size_line = read_line(reader)?;
                let size_hex = size_line.split(';').next().unwrap_or_default().trim();
                let size = usize::from_str_radix(size_hex, 16)
                    .map_err(|_| invalid(format!("bad chunk size line {size_line:?}")))?;
                if size == 0 {
                    // Trailers, then the blank line that ends the message.
                    read_headers(reader)?;
                    *done = true;
                    return Ok(Vec::new());
                }
                let mut chunk = vec![0; size];
                reader.read_exact(&mut chunk)?;
                let crlf = read_line(reader)?;
                if !crlf.is_empty() {
                    return Err(invalid(format!("chunk not followed by CRLF: {crlf:?}")));
                }
                Ok(chunk)
            }
            BodyReader::Length { reader, remaining } => {
                if *remaining == 0 {
                    return Ok(Vec::new());
                }
                let available = reader.fill_buf()?;
                if available.is_empty() {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                let take = available.len().min(*remaining);
                let piece = available[..take].to_vec();
                reader.consume(take);
                *remaining -= take;
                Ok(piece)
            }
            BodyReader::UntilClose { reader, done } => {
                if *done {
                    return Ok(Vec::new());
                }
                let available = reader.fill_buf()?;
                let piece = available.to_vec();
                reader.consume(piece.len());
                *done = piece.is_empty();
                Ok(piece)
            }
        }
    }

    pub(crate) fn read_to_end(&mut self) -> std::io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let piece = self.next_piece()?;
            if piece.is_empty() {
                return Ok(body);
            }
            body.extend_from_slice(&piece);
        }
    }
}

/// A whole response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response {} is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }
}

/// One server-sent event as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `data:` lines joined with `\n`, as an SSE client reads them.
    pub data: String,
}

/// A response whose body is read as it arrives.
pub struct Stream {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    body: BodyReader<BufReader<TcpStream>>,
    buffer: Vec<u8>,
}

impl Stream {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The next server-sent event, waiting for it if it has not arrived yet; `None` when the body
    /// ends. Events may end with `\n\n`, `\r\n\r\n` or `\r\r`.
    pub fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some((end, terminator)) = find_event_end(&self.buffer) {
                let raw: Vec<u8> = self.buffer.drain(..end + terminator).collect();
                return Some(parse_event(&raw[..end]));
            }
            let piece = self.body.next_piece().unwrap_or_else(|e| {
                panic!(
                    "reading the stream failed: {e}; received so far: {:?}",
                    String::from_utf8_lossy(&self.buffer)
                )
            });
            if piece.is_empty() {
                let rest = std::mem::take(&mut self.buffer);
                let rest = String::from_utf8_lossy(&rest);
                return (!rest.trim().is_empty()).then(|| parse_event(rest.as_bytes()));
            }
            self.buffer.extend_from_slice(&piece);
        }
    }

    /// Every event left in the stream.
    pub fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.next_event()).collect()
    }

    /// The rest of the body in the pieces it was framed in (its HTTP chunks, for a chunked
    /// body), after what was read already.
    pub fn pieces(&mut self) -> Vec<Vec<u8>> {
        let mut pieces = Vec::new();
        if !self.buffer.is_empty() {
            pieces.push(std::mem::take(&mut self.buffer));
        }
        loop {
            let piece = self.body.next_piece().expect("reading the stream failed");
            if piece.is_empty() {
                return pieces;
            }
            pieces.push(piece);
        }
    }

    /// The rest of the body as bytes.
    pub fn read_to_end(&mut self) -> std::io::Result<Vec<u8>> {
        let mut body = std::mem::take(&mut self.buffer);
        body.extend_from_slice(&self.body.read_to_end()?);
        Ok(body)
    }
}

fn find_event_end(buffer: &[u8]) -> Option<(usize, usize)> {
    [&b"\r\n\r\n"[..], b"\n\n", b"\r\r"]
        .iter()
        .filter_map(|terminator| {
            buffer
                .windows(terminator.len())
                .position(|w| w == *terminator)
                .map(|at| (at, terminator.len()))
        })
        .min()
}

fn parse_event(raw: &[u8]) -> Event {
    let text = String::from_utf8_lossy(raw);
    let data: Vec<&str> = text
        .split(['\n', '\r'])
        .filter_map(|line| line.strip_prefix("data:"))
        .map(|value| value.strip_prefix(' ').unwrap_or(value))
        .collect();
    Event {
        data: data.join("\n"),
    }
}
