//! The OTLP/HTTP span exporter: a batch of spans is written as protobuf by
//! [`super::otlp_encode`] and POSTed to the collector's traces endpoint with the blocking
//! `reqwest` client, from the span export thread.
//!
//! The standard variables are honoured as `opentelemetry-otlp` does: headers from
//! `OTEL_EXPORTER_OTLP_TRACES_HEADERS`, else `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`, values
//! percent-decoded), and the timeout of one export from `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, else
//! `OTEL_EXPORTER_OTLP_TIMEOUT` (ms, 10 s by default). A transport error, `429`, `502`, `503` or
//! `504` is tried again twice, with 100 and 400 ms between, within the timeout. Header values are
//! credentials often enough: no error names them.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};

use super::otlp_encode;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const BACKOFF: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(400)];

pub struct OtlpTraceExporter {
    endpoint: String,
    headers: HeaderMap,
    timeout: Duration,
    /// The encoded `Resource` message.
    resource: Vec<u8>,
    /// Made on first use, on the export thread: the blocking client runs a runtime of its own,
    /// which must not be started or dropped inside the gateway's.
    client: OnceLock<Result<reqwest::blocking::Client, String>>,
    /// The size of the last request, to size the next one's buffer.
    last_size: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for OtlpTraceExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpTraceExporter")
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl OtlpTraceExporter {
    /// An exporter to `endpoint` (the full traces URL), configured from the variables `env`
    /// has.
    pub fn new(
        endpoint: String,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<OtlpTraceExporter, String> {
        let (headers_var, headers) = match env("OTEL_EXPORTER_OTLP_TRACES_HEADERS") {
            Some(h) => ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", Some(h)),
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
            "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
        ]
        .iter()
        .find_map(|name| env(name).and_then(|v| v.trim().parse::<u64>().ok()))
        .map_or(DEFAULT_TIMEOUT, Duration::from_millis);
        Ok(OtlpTraceExporter {
            endpoint,
            headers,
            timeout,
            resource: Vec::new(),
            client: OnceLock::new(),
            last_size: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    fn client(&self) -> Result<&reqwest::blocking::Client, OTelSdkError> {
        self.client
            .get_or_init(|| {
                reqwest::blocking::Client::builder()
                    .timeout(self.timeout)
                    .build()
                    .map_err(|e| format!("cannot build the OTLP HTTP client: {e}"))
            })
            .as_ref()
            .map_err(|e| OTelSdkError::InternalFailure(e.clone()))
    }

    fn post(&self, body: Vec<u8>) -> OTelSdkResult {
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
            let wait = BACKOFF.get(attempt).copied();
            match wait {
                Some(wait) if retryable && Instant::now() + wait < deadline => {
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                _ => {
                    return Err(OTelSdkError::InternalFailure(match sent {
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
                    }))
                }
            }
        }
    }
}

impl SpanExporter for OtlpTraceExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        use std::sync::atomic::Ordering;
        let mut body = Vec::with_capacity(self.last_size.load(Ordering::Relaxed));
        otlp_encode::export_request(&mut body, &self.resource, &batch);
        self.last_size.store(body.len(), Ordering::Relaxed);
        drop(batch);
        self.post(body)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = otlp_encode::resource(resource);
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
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::mpsc;

    use super::*;

    /// A request as the fake collector read it.
    struct Received {
        head: String,
        body: Vec<u8>,
    }

    /// A collector on loopback that answers each request with the next of `statuses` and sends
    /// what it read to the returned channel.
    fn collector(statuses: Vec<u16>) -> (String, mpsc::Receiver<Received>) {
        // The gateway installs it at start-up; the client cannot be built without one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
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

    fn span() -> SpanData {
        use opentelemetry::trace::{
            SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
        };
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(1),
                SpanId::from(2),
                TraceFlags::SAMPLED,
                false,
                TraceState::NONE,
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Server,
            name: "chat gpt-4o".into(),
            start_time: std::time::SystemTime::now(),
            end_time: std::time::SystemTime::now(),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: Status::Unset,
            instrumentation_scope: Default::default(),
        }
    }

    #[test]
    fn a_batch_is_posted_as_protobuf_with_the_configured_headers_and_retried_on_503() {
        let (url, received) = collector(vec![503, 200]);
        let exporter = OtlpTraceExporter::new(
            url,
            &env(&[("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=t%201")]),
        )
        .unwrap();
        futures_executor::block_on(exporter.export(vec![span()])).unwrap();
        let first = received.recv().unwrap();
        let second = received.recv().unwrap();
        for request in [&first, &second] {
            let head = request.head.to_ascii_lowercase();
            assert!(head.starts_with("post /v1/traces http/1.1"), "{head}");
            assert!(
                head.contains("content-type: application/x-protobuf"),
                "{head}"
            );
            assert!(head.contains("x-tenant: t 1"), "{head}");
        }
        assert_eq!(first.body, second.body);
        let decoded =
            <opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest as prost::Message>::decode(
                first.body.as_slice(),
            )
            .unwrap();
        let spans = &decoded.resource_spans[0].scope_spans[0].spans;
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].name, "chat gpt-4o");
        assert_eq!(spans[0].span_id, 2_u64.to_be_bytes());
    }

    #[test]
    fn a_refusing_collector_is_an_error_that_names_its_status() {
        let (url, received) = collector(vec![400]);
        let exporter = OtlpTraceExporter::new(url, &env(&[])).unwrap();
        let error = futures_executor::block_on(exporter.export(vec![span()])).unwrap_err();
        assert!(error.to_string().contains("400"), "{error}");
        assert!(received.recv().is_ok());
        assert!(
            received.recv_timeout(Duration::from_millis(300)).is_err(),
            "a 400 is not tried again"
        );
    }

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn signal_variables_win_over_the_general_ones() {
        let exporter = OtlpTraceExporter::new(
            "http://c:4318/v1/traces".into(),
            &env(&[
                ("OTEL_EXPORTER_OTLP_HEADERS", "x-general=1"),
                (
                    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                    "Authorization=Bearer%20abc, x-tenant = t1",
                ),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
                ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "750"),
            ]),
        )
        .unwrap();
        assert_eq!(exporter.headers["authorization"], "Bearer abc");
        assert_eq!(exporter.headers["x-tenant"], "t1");
        assert!(exporter.headers.get("x-general").is_none());
        assert_eq!(exporter.timeout, Duration::from_millis(750));

        let general = OtlpTraceExporter::new(
            "http://c:4318/v1/traces".into(),
            &env(&[
                ("OTEL_EXPORTER_OTLP_HEADERS", "x-general=1"),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ]),
        )
        .unwrap();
        assert_eq!(general.headers["x-general"], "1");
        assert_eq!(general.timeout, Duration::from_millis(2500));
        let default = OtlpTraceExporter::new("http://c/v1/traces".into(), &env(&[])).unwrap();
        assert_eq!(default.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn a_bad_header_is_refused_without_its_value() {
        let e = OtlpTraceExporter::new(
            "http://c/v1/traces".into(),
            &env(&[("OTEL_EXPORTER_OTLP_HEADERS", "api-key=sekrit%zz")]),
        )
        .unwrap_err();
        assert!(e.starts_with("OTEL_EXPORTER_OTLP_HEADERS: "), "{e}");
        assert!(e.contains("api-key") && !e.contains("sekrit"), "{e}");
        let e = OtlpTraceExporter::new(
            "http://c/v1/traces".into(),
            &env(&[("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "no-equals-sign")]),
        )
        .unwrap_err();
        assert!(e.contains("entry 1 is not key=value"), "{e}");
    }
}
