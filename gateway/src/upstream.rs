//! Upstream HTTP I/O: one awc client per service on each worker (a client is not `Send`, and a
//! per-service client gives each service its own keep-alive pool and connect timeout), TLS by
//! rustls with the ring provider, and the mapping of transport failures to 502 and 504.

use std::sync::Arc;
use std::time::Duration;

use awc::error::{ConnectError, PayloadError, SendRequestError};

use crate::config::Service;
use crate::errors::GatewayError;

/// Upstream connections a worker may hold open per service. awc's default of 100 caps
/// concurrency below what one worker serves under load.
const CONNECTIONS_PER_SERVICE: usize = 4096;

/// Installs ring as rustls' process-wide crypto provider. Must run once before any TLS client is
/// built; a second call is harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// The client of `service`'s upstream, whose idle keep-alive connections are closed after
/// `keep_alive`.
pub fn client_for(service: &Service, keep_alive: Duration) -> awc::Client {
    let connector = awc::Connector::new()
        .rustls_0_23(tls_config())
        .timeout(service.connect_timeout)
        .limit(CONNECTIONS_PER_SERVICE)
        .conn_keep_alive(keep_alive);
    awc::Client::builder()
        .connector(connector)
        .disable_redirects()
        .no_default_headers()
        .timeout(service.read_timeout)
        .finish()
}

/// Whether a failed attempt may be made again: only when the upstream was not reached, or closed
/// the connection before sending a response head (a pooled keep-alive connection it had closed
/// meanwhile, or a crash before answering). Never after a timeout once the request was sent, and
/// never for a response, whatever its status: the upstream may be working on the request (an
/// LLM call is not idempotent and costs money), which is also why nginx, under Kong, does not
/// retry a POST once it is sent. The one exception taken here, a connection closed before any
/// response head, is what a stale keep-alive connection looks like, and retrying it is what
/// makes such connections harmless.
pub fn is_retryable(e: &SendRequestError) -> bool {
    match e {
        SendRequestError::Connect(_) | SendRequestError::Send(_) => true,
        SendRequestError::Response(parse) => matches!(
            parse,
            actix_web::error::ParseError::Incomplete | actix_web::error::ParseError::Io(_)
        ),
        _ => false,
    }
}

/// Classifies a failure to get a response head from the upstream.
pub fn send_error(e: SendRequestError, host: &str) -> GatewayError {
    match e {
        SendRequestError::Timeout | SendRequestError::Connect(ConnectError::Timeout) => {
            GatewayError::timeout(format!("upstream {host} did not answer in time"))
        }
        SendRequestError::Url(e) => GatewayError::internal(format!(
            "invalid upstream URL built by the provider module: {e}"
        )),
        other => GatewayError::unreachable(format!("upstream {host} is unreachable: {other}")),
    }
}

/// Classifies a failure while reading the upstream's body.
pub fn payload_error(e: PayloadError, host: &str) -> GatewayError {
    match &e {
        PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            GatewayError::timeout(format!("upstream {host} stopped sending in time"))
        }
        PayloadError::Overflow => GatewayError::unreachable(format!(
            "upstream {host} sent a response body that is too large"
        )),
        _ => GatewayError::unreachable(format!("upstream {host} broke off its response: {e}")),
    }
}

/// The host (and port) of a URL, for messages. Never includes user info or the query, which may
/// hold credentials.
pub fn host_of(url: &str) -> &str {
    // Byte searches: every delimiter is ASCII, so each cut is on a character boundary, and a
    // string pattern (`"://"`) would build a substring searcher on every call.
    let scheme_end = url.as_bytes().windows(3).position(|w| w == b"://");
    let rest = scheme_end.and_then(|at| url.get(at + 3..)).unwrap_or(url);
    let authority_len = rest
        .bytes()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = rest.get(..authority_len).unwrap_or(rest);
    match authority.bytes().rposition(|b| b == b'@') {
        Some(at) => authority.get(at + 1..).unwrap_or(authority),
        None => authority,
    }
}

/// `host:port` of a URL whose host (with its port, if it has one) [`host_of`] found, the port made
/// explicit from the scheme when the URL has none, for the `server.address` and `server.port` of
/// telemetry.
pub fn authority_of(url: &str, host: &str) -> String {
    let has_port = host
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    if has_port {
        return host.to_string();
    }
    let port = if url.starts_with("https://") { 443 } else { 80 };
    format!("{host}:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_of_drops_credentials_path_and_query() {
        assert_eq!(
            host_of("https://user:pw@api.x.com:8443/v1?key=s"),
            "api.x.com:8443"
        );
        assert_eq!(host_of("http://127.0.0.1:9/a"), "127.0.0.1:9");
        assert_eq!(host_of("http://h/p@x?u=a@b"), "h");
        assert_eq!(host_of("backend:80/v1"), "backend:80");
        assert_eq!(host_of("http://k@h#frag"), "h");
    }

    #[test]
    fn authorities_always_have_a_port() {
        let authority = |url| authority_of(url, host_of(url));
        assert_eq!(
            authority("https://api.openai.com/v1/chat"),
            "api.openai.com:443"
        );
        assert_eq!(authority("http://backend/v1"), "backend:80");
        assert_eq!(authority("http://k:pw@127.0.0.1:9/a?key=s"), "127.0.0.1:9");
        assert_eq!(authority("http://[::1]:8080/"), "[::1]:8080");
    }

    #[test]
    fn only_failures_before_a_response_head_are_retried() {
        let refused = SendRequestError::Connect(ConnectError::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        assert!(is_retryable(&refused));
        assert!(is_retryable(&SendRequestError::Connect(
            ConnectError::Disconnected
        )));
        assert!(is_retryable(&SendRequestError::Send(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset
        ))));
        assert!(is_retryable(&SendRequestError::Response(
            actix_web::error::ParseError::Incomplete
        )));
        assert!(!is_retryable(&SendRequestError::Timeout));
        assert!(!is_retryable(&SendRequestError::Response(
            actix_web::error::ParseError::Header
        )));
    }

    #[test]
    fn timeouts_are_504_and_refusals_502() {
        assert_eq!(
            send_error(SendRequestError::Timeout, "h").status.as_u16(),
            504
        );
        let refused = SendRequestError::Connect(ConnectError::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        assert_eq!(send_error(refused, "h").status.as_u16(), 502);
    }
}
