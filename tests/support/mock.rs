//! A scripted upstream on 127.0.0.1, written on `std::net` so that tests decide every byte and every
//! write boundary of its answers. It records each request it receives.
//!
//! Replies are taken from a queue, then from the standing reply set with
//! [`MockUpstream::always`]. A streamed reply is a list of [`Step`]s: each chunk is one write,
//! flushed on its own, and a [`Gate`] holds the rest until the test opens it, so a test can prove
//! the gateway forwarded an event before the upstream finished, and can place a chunk boundary
//! anywhere (mid-event, mid-CRLF) knowing the gateway has read the bytes before it.

use std::{
    collections::VecDeque,
    io::{BufReader, Write},
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Condvar, Mutex,
    },
    thread,
};

use serde_json::Value;

use crate::http::{header, invalid, read_line, BodyReader};

/// A latch the test opens to let a held reply continue.
#[derive(Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }

    pub fn open(&self) {
        let (open, changed) = &*self.0;
        *open.lock().unwrap() = true;
        changed.notify_all();
    }

    fn wait(&self) {
        let (open, changed) = &*self.0;
        let mut is_open = open.lock().unwrap();
        while !*is_open {
            is_open = changed.wait(is_open).unwrap();
        }
    }
}

/// One part of a streamed reply.
#[derive(Clone)]
pub enum Step {
    /// Written as one HTTP chunk and flushed.
    Chunk(Vec<u8>),
    /// Written as one HTTP chunk each, all in one write, as an upstream that writes events back
    /// to back is read.
    Together(Vec<Vec<u8>>),
    /// Nothing more is written until the gate opens.
    Wait(Gate),
}

/// What the mock answers to one request.
#[derive(Clone)]
pub enum Reply {
    /// A whole body with `Content-Length`.
    Full {
        status: u16,
        content_type: String,
        body: Vec<u8>,
    },
    /// `200` with a chunked body written step by step.
    Streamed {
        content_type: String,
        steps: Vec<Step>,
    },
    /// Reads the request, waits for the gate, then answers with the inner reply.
    Held(Gate, Box<Reply>),
    /// Reads the request and closes the connection without answering.
    Close,
}

impl Reply {
    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply::body(status, "application/json", body)
    }

    pub fn body(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Full {
            status,
            content_type: content_type.to_string(),
            body: body.into(),
        }
    }

    /// An SSE reply of `steps`.
    pub fn sse(steps: Vec<Step>) -> Reply {
        Reply::Streamed {
            content_type: "text/event-stream".to_string(),
            steps,
        }
    }

    fn gates(&self) -> Vec<Gate> {
        match self {
            Reply::Streamed { steps, .. } => steps
                .iter()
                .filter_map(|step| match step {
                    Step::Wait(gate) => Some(gate.clone()),
                    Step::Chunk(_) | Step::Together(_) => None,
                })
                .collect(),
            Reply::Held(gate, inner) => {
                let mut gates = inner.gates();
                gates.push(gate.clone());
                gates
            }
            Reply::Full { .. } | Reply::Close => Vec::new(),
        }
    }
}

/// `bytes` framed as one HTTP chunk.
fn chunk_frame(bytes: &[u8]) -> Vec<u8> {
    let mut frame = format!("{:x}\r\n", bytes.len()).into_bytes();
    frame.extend_from_slice(bytes);
    frame.extend_from_slice(b"\r\n");
    frame
}

/// A chunk of text, for building [`Step`] lists.
pub fn chunk(text: &str) -> Step {
    Step::Chunk(text.as_bytes().to_vec())
}

/// A request as the mock received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Names lowercased, in the order received, repeats kept.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The address the request's connection came from: which of the gateway's pooled
    /// connections carried it.
    pub connection: SocketAddr,
}

impl Recorded {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The raw query string, without `?`; empty when there is none.
    pub fn query(&self) -> &str {
        self.target
            .split_once('?')
            .map(|(_, q)| q)
            .unwrap_or_default()
    }

    /// Every value of query parameter `name`, undecoded.
    pub fn query_values(&self, name: &str) -> Vec<&str> {
        self.query()
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .filter(|(key, _)| *key == name)
            .map(|(_, value)| value)
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// Every value of header `name`.
    pub fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the upstream received a body that is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

#[derive(Default)]
struct State {
    queue: VecDeque<Reply>,
    standing: Option<Reply>,
    requests: Vec<Recorded>,
    gates: Vec<Gate>,
}

struct Shared {
    state: Mutex<State>,
    stopped: AtomicBool,
    /// Connections accepted and not yet closed by the gateway.
    open: AtomicUsize,
}

pub struct MockUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl MockUpstream {
    pub fn start() -> MockUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the mock upstream");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            stopped: AtomicBool::new(false),
            open: AtomicUsize::new(0),
        });
        let accepting = Arc::clone(&shared);
        thread::spawn(move || {
            for connection in listener.incoming() {
                if accepting.stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(connection) = connection else { continue };
                let serving = Arc::clone(&accepting);
                serving.open.fetch_add(1, Ordering::SeqCst);
                thread::spawn(move || {
                    serve_connection(connection, &serving);
                    serving.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        MockUpstream { addr, shared }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers the next request not yet answered with `reply`.
    pub fn reply(&self, reply: Reply) {
        let mut state = self.shared.state.lock().unwrap();
        state.gates.extend(reply.gates());
        state.queue.push_back(reply);
    }

    /// Answers with `reply` whenever the queue is empty.
    pub fn always(&self, reply: Reply) {
        let mut state = self.shared.state.lock().unwrap();
        state.gates.extend(reply.gates());
        state.standing = Some(reply);
    }

    /// The connections the gateway has open to this upstream.
    pub fn open_connections(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// Every request received so far, in order of arrival.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.state.lock().unwrap().requests.clone()
    }

    /// The one request received, failing if there were none or several.
    pub fn only_request(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(
            requests.len(),
            1,
            "expected the upstream to receive exactly one request, got {requests:#?}"
        );
        requests.into_iter().next().unwrap()
    }
}

impl Drop for MockUpstream {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        // Held replies must not keep their threads waiting after the test is over.
        for gate in &self.shared.state.lock().unwrap().gates {
            gate.open();
        }
        // Wakes the accept loop so that it sees `stopped`.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve_connection(connection: TcpStream, shared: &Shared) {
    let _ = connection.set_nodelay(true);
    let Ok(mut writer) = connection.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(connection);
    // Keep-alive: one request after another until the gateway closes the connection.
    while let Ok(Some(request)) = read_request(&mut reader, &mut writer) {
        let reply = {
            let mut state = shared.state.lock().unwrap();
            state.requests.push(request);
            state.queue.pop_front().or_else(|| state.standing.clone())
        };
        let Some(reply) = reply else {
            let _ = write_full(
                &mut writer,
                500,
                "text/plain",
                b"mock upstream: no reply scripted",
            );
            continue;
        };
        if write_reply(&mut writer, reply).is_err() || shared.stopped.load(Ordering::SeqCst) {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> std::io::Result<Option<Recorded>> {
    let request_line = match read_line(reader) {
        Ok(line) => line,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(invalid(format!("bad request line {request_line:?}")));
    };
    let (method, target) = (method.to_string(), target.to_string());
    let headers = crate::http::read_headers(reader)?;
    if header(&headers, "expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let body = match BodyReader::for_message(&headers, &mut *reader) {
        Ok(mut body) => body.read_to_end()?,
        // A request that declares no length has no body.
        Err(_) => Vec::new(),
    };
    Ok(Some(Recorded {
        method,
        target,
        headers,
        body,
        connection: reader.get_ref().peer_addr()?,
    }))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn write_full(
    writer: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let mut message = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
        reason(status),
        body.len()
    )
    .into_bytes();
    message.extend_from_slice(body);
    writer.write_all(&message)?;
    writer.flush()
}

fn write_reply(writer: &mut TcpStream, reply: Reply) -> std::io::Result<()> {
    match reply {
        Reply::Full {
            status,
            content_type,
            body,
        } => write_full(writer, status, &content_type, &body),
        Reply::Streamed {
            content_type,
            steps,
        } => {
            writer.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
                )
                .as_bytes(),
            )?;
            writer.flush()?;
            for step in steps {
                match step {
                    Step::Chunk(bytes) => {
                        writer.write_all(&chunk_frame(&bytes))?;
                        writer.flush()?;
                    }
                    Step::Together(chunks) => {
                        let frames: Vec<u8> = chunks.iter().flat_map(|c| chunk_frame(c)).collect();
                        writer.write_all(&frames)?;
                        writer.flush()?;
                    }
                    Step::Wait(gate) => gate.wait(),
                }
            }
            writer.write_all(b"0\r\n\r\n")?;
            writer.flush()
        }
        Reply::Held(gate, inner) => {
            gate.wait();
            write_reply(writer, *inner)
        }
        Reply::Close => Err(std::io::ErrorKind::ConnectionAborted.into()),
    }
}
