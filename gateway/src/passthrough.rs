//! Plain reverse proxying for routes with no ai-proxy plugin, as Kong does for every route: the
//! request goes to the route's service (`protocol://host:port/path`) with the matched prefix
//! stripped when the route says so, and both bodies stream through untouched.
//!
//! The client's body streams upstream as it arrives, so it cannot be sent twice: these routes
//! make one attempt, whatever the service's `retries`. Their span ends when the response head is
//! forwarded.

use actix_web::http::header::HeaderMap;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use provider_sdk::abi::ResponseMeta;

use crate::config::Service;
use crate::errors::GatewayError;
use crate::exchange::{Ending, Exchange, ResponseBody};
use crate::proxy::{copy_response_headers, upstream_error, NOT_FORWARDED_UPSTREAM};
use crate::router::RouteMatch;

/// Kong's `path_handling: v0`: the service's path, then the (stripped) request path.
fn upstream_url(service: &Service, path: &str, query: &str) -> String {
    let base = service.path.as_deref().unwrap_or("").trim_end_matches('/');
    let path = if base.is_empty() || path != "/" {
        format!("{base}{path}")
    } else {
        base.to_string()
    };
    let mut url = format!(
        "{}://{}:{}{}",
        service.protocol.as_str(),
        service.host,
        service.port,
        path
    );
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    url
}

pub async fn forward(
    req: &HttpRequest,
    payload: web::Payload,
    client: &awc::Client,
    service: &Service,
    found: &RouteMatch,
    exchange: &mut Exchange,
) -> Result<HttpResponse, GatewayError> {
    let url = upstream_url(
        service,
        &found.stripped_path(req.path()),
        req.query_string(),
    );
    let host = crate::upstream::host_of(&url).to_string();
    exchange.sending(&url, &host, None);
    let mut attempt = exchange.attempt(0, req.method().as_str());
    let mut request = client.request(req.method().clone(), url.as_str());
    forward_headers(req.headers(), request.headers_mut());
    if let Some(trace_context) = attempt.propagation.take() {
        for (name, value) in trace_context {
            request.headers_mut().insert(name, value);
        }
    }
    let mut response = match request.send_stream(payload).await {
        Ok(response) => response,
        Err(e) => {
            let error = crate::upstream::send_error(e, &host);
            exchange.attempt_failed(0, req.method().as_str(), attempt, &error, false);
            return Err(error);
        }
    };
    let status = response.status();
    exchange.attempt_answered(attempt, status.as_u16());
    let mut client_response = HttpResponse::build(status);
    copy_response_headers(response.headers(), &mut client_response);
    let error = upstream_error(status);
    let message = error.map(|_| format!("upstream answered {}", status.as_u16()));
    exchange.finish(Ending {
        status: status.as_u16(),
        error,
        message: message.as_deref(),
        meta: &ResponseMeta::default(),
        first_byte: None,
        body: ResponseBody::None,
    });
    Ok(client_response.streaming(response.take_payload()))
}

fn forward_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (k, v) in from {
        if !NOT_FORWARDED_UPSTREAM.contains(&k.as_str()) {
            to.append(k.clone(), v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Protocol;
    use std::time::Duration;

    fn service(path: Option<&str>) -> Service {
        Service {
            name: "s".into(),
            protocol: Protocol::Http,
            host: "backend".into(),
            port: 8080,
            path: path.map(String::from),
            connect_timeout: Duration::from_secs(1),
            read_timeout: Duration::from_secs(1),
            write_timeout: Duration::from_secs(1),
            retries: 0,
            tls_verify: None,
            enabled: true,
        }
    }

    #[test]
    fn service_path_and_request_path_join_as_kong_v0() {
        assert_eq!(
            upstream_url(&service(None), "/a/b", ""),
            "http://backend:8080/a/b"
        );
        assert_eq!(
            upstream_url(&service(Some("/api/")), "/a", "x=1"),
            "http://backend:8080/api/a?x=1"
        );
        assert_eq!(
            upstream_url(&service(Some("/api")), "/", ""),
            "http://backend:8080/api"
        );
    }
}
