//! The bare proxy relays what the harness measures it on: the mock's chat answer and its stream,
//! byte for byte, so that its requests per second are those of a proxy doing the gateway's relay.

// Helpers outside `#[test]` functions: a failed unwrap there is a failed test too.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(program: &str, args: &[&str], port: u16) -> Killed {
    let child = Killed(
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{program} never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// The status line, the headers (lower-cased names) and the body, de-chunked, of one POST.
fn post(port: u16, body: &str) -> (String, Vec<(String, String)>, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Authorization: Bearer sk-test\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    (status, headers, body)
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&rest[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        rest = &rest[line_end + 2..];
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

fn content_type(headers: &[(String, String)]) -> Option<&str> {
    headers
        .iter()
        .find(|(n, _)| n == "content-type")
        .map(|(_, v)| v.as_str())
}

#[test]
fn the_mocks_chat_answer_and_stream_come_through_the_bare_proxy_unchanged() {
    let mock_port = free_port();
    let _mock = start(
        env!("CARGO_BIN_EXE_mock"),
        &[
            "--listen",
            &format!("127.0.0.1:{mock_port}"),
            "--chunks",
            "5",
        ],
        mock_port,
    );
    let proxy_port = free_port();
    let _proxy = start(
        env!("CARGO_BIN_EXE_bare-proxy"),
        &[
            "--listen",
            &format!("127.0.0.1:{proxy_port}"),
            "--upstream",
            &format!("http://127.0.0.1:{mock_port}"),
            "--workers",
            "1",
        ],
        proxy_port,
    );
    for body in [
        r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#,
        r#"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
    ] {
        let (direct_status, direct_headers, direct_body) = post(mock_port, body);
        let (status, headers, relayed) = post(proxy_port, body);
        assert_eq!(direct_status, "HTTP/1.1 200 OK");
        assert_eq!(status, direct_status);
        assert_eq!(content_type(&headers), content_type(&direct_headers));
        assert!(!direct_body.is_empty());
        assert_eq!(
            String::from_utf8_lossy(&relayed),
            String::from_utf8_lossy(&direct_body)
        );
    }
}
