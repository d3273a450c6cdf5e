//! OTLP over HTTP: one protobuf request POSTed to a collector's endpoint for a signal, with the
//! blocking `reqwest` client, from the export thread that calls it.
//!
//! The standard variables are honoured as `opentelemetry-otlp` does: headers from
//! `OTEL_EXPORTER_OTLP_{SIGNAL}_HEADERS`, else `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`, values
//! percent-decoded), and the timeout of one export from `OTEL_EXPORTER_OTLP_{SIGNAL}_TIMEOUT`,
//! else `OTEL_EXPORTER_OTLP_TIMEOUT` (ms, 10 s by default). A transport error, `429`, `502`, `503`
//! or `504` is tried again twice, with 100 and 400 ms between, within the timeout. Header values
//! are credentials often enough: no error names them.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const BACKOFF: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(400)];

pub struct OtlpHttp {
    endpoint: String,
    headers: HeaderMap,
    timeout: Duration,
    /// Made on first use, on the export thread: the blocking client runs a runtime of its own,
    /// which must not be started or dropped inside the gateway's.
    client: OnceLock<Result<reqwest::blocking::Client, String>>,
}

impl std::fmt::Debug for OtlpHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpHttp")
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl OtlpHttp {
    /// A sender to `endpoint` (the signal's full URL) for `signal` (`TRACES`, `METRICS`),
    /// configured from the variables `env` has.
    pub fn new(
        endpoint: String,
        signal: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<OtlpHttp, String> {
        let signal_headers = format!("OTEL_EXPORTER_OTLP_{signal}_HEADERS");
        let (headers_var, headers) = match env(&signal_headers) {
            Some(h) => (signal_headers.as_str(), Some(h)),
            None => (
                "OTEL_EXPORTER_OTLP_HEADERS",
                env("OTEL_EXPORTER_OTLP_HEADERS"),
            ),
        };
        let headers = match headers {
            Some(text) => parse_headers(&text).map_err(|e| format!("{headers_var}: {e}"))?,
            None => HeaderMap::new(),
        };
        let timeout = [
            format!("OTEL_EXPORTER_OTLP_{signal}_TIMEOUT"),
            "OTEL_EXPORTER_OTLP_TIMEOUT".to_string(),
        ]
        .iter()
        .find_map(|name| env(name).and_then(|v| v.trim().parse::<u64>().ok()))
        .map_or(DEFAULT_TIMEOUT, Duration::from_millis);
        Ok(OtlpHttp {
            endpoint,
            headers,
            timeout,
            client: OnceLock::new(),
        })
    }

    fn client(&self) -> Result<&reqwest::blocking::Client, String> {
        self.client
            .get_or_init(|| {
                reqwest::blocking::Client::builder()
                    .timeout(self.timeout)
                    .build()
                    .map_err(|e| format!("cannot build the OTLP HTTP client: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// POSTs `body` (an OTLP protobuf request), trying again as the module documentation says.
    pub fn post(&self, body: Vec<u8>) -> Result<(), String> {
        let client = self.client()?;
        let deadline = Instant::now() + self.timeout;
        let body = bytes::Bytes::from(body);
        let mut attempt = 0;
        loop {
            let sent = client
                .post(&self.endpoint)
                .header(CONTENT_TYPE, "application/x-protobuf")
                .headers(self.headers.clone())
                .body(reqwest::blocking::Body::from(body.clone()))
                .send();
            let retryable = match &sent {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => matches!(response.status().as_u16(), 429 | 502 | 503 | 504),
                Err(_) => true,
            };
            match BACKOFF.get(attempt).copied() {
                Some(wait) if retryable && Instant::now() + wait < deadline => {
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                _ => {
                    return Err(match sent {
                        Ok(response) => format!(
                            "the collector at {} answered {}",
                            self.endpoint,
                            response.status()
                        ),
                        Err(e) => format!(
                            "cannot reach the collector at {}: {}",
                            self.endpoint,
                            e.without_url()
                        ),
                    })
                }
            }
        }
    }
}

/// `k=v,k2=v2`, values percent-decoded. The message of an error names the entry's position and
/// key, never its value.
fn parse_headers(text: &str) -> Result<HeaderMap, String> {
    let mut headers = HeaderMap::new();
    for (i, entry) in text
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .enumerate()
    {
        let (key, value) = entry
            .split_once('=')
            .ok_or_else(|| format!("entry {} is not key=value", i + 1))?;
        let key = key.trim();
        let name = HeaderName::from_bytes(key.as_bytes())
            .map_err(|_| format!("entry {}: '{key}' is not a header name", i + 1))?;
        let decoded = percent_decode(value.trim())
            .ok_or_else(|| format!("the value of '{key}' is not valid percent-encoded UTF-8"))?;
        let value = HeaderValue::from_str(&decoded)
            .map_err(|_| format!("the value of '{key}' is not a valid header value"))?;
        headers.append(name, value);
    }
    Ok(headers)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::mpsc;

    use super::*;

    /// A request as the fake collector read it.
    pub struct Received {
        pub head: String,
        pub body: Vec<u8>,
    }

    /// A collector on loopback that answers each request with the next of `statuses` (then 200)
    /// and sends what it read to the returned channel.
    pub fn collector(path: &str, statuses: Vec<u16>) -> (String, mpsc::Receiver<Received>) {
        // The gateway installs it at start-up; the client cannot be built without one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}{path}", listener.local_addr().unwrap());
        let (sent, received) = mpsc::channel();
        std::thread::spawn(move || {
            let mut statuses = statuses.into_iter();
            for stream in listener.incoming() {
                let mut stream = BufReader::new(stream.unwrap());
                loop {
                    let mut head = String::new();
                    let mut line = String::new();
                    while stream.read_line(&mut line).unwrap_or(0) > 2 {
                        head.push_str(&line);
                        line.clear();
                    }
                    if head.is_empty() {
                        break;
                    }
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    let mut body = vec![0; length];
                    stream.read_exact(&mut body).unwrap();
                    let status = statuses.next().unwrap_or(200);
                    stream
                        .get_mut()
                        .write_all(
                            format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n").as_bytes(),
                        )
                        .unwrap();
                    if sent.send(Received { head, body }).is_err() {
                        return;
                    }
                }
            }
        });
        (url, received)
    }

    pub fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn a_body_is_posted_as_protobuf_with_the_configured_headers_and_retried_on_503() {
        let (url, received) = collector("/v1/metrics", vec![503, 200]);
        let http = OtlpHttp::new(
            url,
            "METRICS",
            &env(&[("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=t%201")]),
        )
        .unwrap();
        http.post(b"\x0a\x00".to_vec()).unwrap();
        let first = received.recv().unwrap();
        let second = received.recv().unwrap();
        for request in [&first, &second] {
            let head = request.head.to_ascii_lowercase();
            assert!(head.starts_with("post /v1/metrics http/1.1"), "{head}");
            assert!(
                head.contains("content-type: application/x-protobuf"),
                "{head}"
            );
            assert!(head.contains("x-tenant: t 1"), "{head}");
            assert_eq!(request.body, b"\x0a\x00");
        }
    }

    #[test]
    fn a_refusing_collector_is_an_error_that_names_its_status() {
        let (url, received) = collector("/v1/traces", vec![400]);
        let http = OtlpHttp::new(url, "TRACES", &env(&[])).unwrap();
        let error = http.post(Vec::new()).unwrap_err();
        assert!(error.contains("400"), "{error}");
        assert!(received.recv().is_ok());
        assert!(
            received.recv_timeout(Duration::from_millis(300)).is_err(),
            "a 400 is not tried again"
        );
    }

    #[test]
    fn signal_variables_win_over_the_general_ones() {
        let http = OtlpHttp::new(
            "http://c:4318/v1/traces".into(),
            "TRACES",
            &env(&[
                ("OTEL_EXPORTER_OTLP_HEADERS", "x-general=1"),
                (
                    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                    "Authorization=Bearer%20abc, x-tenant = t1",
                ),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
                ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "750"),
                ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "99"),
            ]),
        )
        .unwrap();
        assert_eq!(http.headers["authorization"], "Bearer abc");
        assert_eq!(http.headers["x-tenant"], "t1");
        assert!(http.headers.get("x-general").is_none());
        assert_eq!(http.timeout, Duration::from_millis(750));

        let general = OtlpHttp::new(
            "http://c:4318/v1/metrics".into(),
            "METRICS",
            &env(&[
                ("OTEL_EXPORTER_OTLP_HEADERS", "x-general=1"),
                ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-traces=1"),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ]),
        )
        .unwrap();
        assert_eq!(general.headers["x-general"], "1");
        assert!(general.headers.get("x-traces").is_none());
        assert_eq!(general.timeout, Duration::from_millis(2500));
        let default = OtlpHttp::new("http://c/v1/traces".into(), "TRACES", &env(&[])).unwrap();
        assert_eq!(default.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn a_bad_header_is_refused_without_its_value() {
        let e = OtlpHttp::new(
            "http://c/v1/traces".into(),
            "TRACES",
            &env(&[("OTEL_EXPORTER_OTLP_HEADERS", "api-key=sekrit%zz")]),
        )
        .unwrap_err();
        assert!(e.starts_with("OTEL_EXPORTER_OTLP_HEADERS: "), "{e}");
        assert!(e.contains("api-key") && !e.contains("sekrit"), "{e}");
        let e = OtlpHttp::new(
            "http://c/v1/traces".into(),
            "TRACES",
            &env(&[("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "no-equals-sign")]),
        )
        .unwrap_err();
        assert!(e.contains("entry 1 is not key=value"), "{e}");
    }
}
