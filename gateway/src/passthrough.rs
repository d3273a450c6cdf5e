//! Plain reverse proxying for routes with no ai-proxy plugin, as Kong does for every route: the
//! request goes to the route's service (`protocol://host:port/path`) with the matched prefix
//! stripped when the route says so, and both bodies stream through untouched.

use std::time::Instant;

use actix_web::http::header::HeaderMap;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use provider_sdk::abi::ResponseMeta;

use crate::accounting::Accounting;
use crate::config::Service;
use crate::errors::GatewayError;
use crate::proxy::{copy_response_headers, NOT_FORWARDED_UPSTREAM};
use crate::route_actor::RouteActor;
use crate::router::RouteMatch;
use crate::stats::ErrorClass;

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
    actor: &actix::Addr<RouteActor>,
    started: Instant,
) -> Result<HttpResponse, GatewayError> {
    let url = upstream_url(service, &found.stripped_path, req.query_string());
    let host = crate::upstream::host_of(&url).to_string();
    let mut request = client.request(req.method().clone(), url.as_str());
    forward_headers(req.headers(), request.headers_mut());
    let mut response = request
        .send_stream(payload)
        .await
        .map_err(|e| crate::upstream::send_error(e, &host))?;
    let status = response.status();
    let mut client_response = HttpResponse::build(status);
    copy_response_headers(response.headers(), &mut client_response);
    let error = if status.is_client_error() {
        Some(ErrorClass::Upstream4xx)
    } else if status.is_server_error() {
        Some(ErrorClass::Upstream5xx)
    } else {
        None
    };
    Accounting::new(actor.clone(), started, None).finish(
        status.as_u16(),
        error,
        &ResponseMeta::default(),
        None,
    );
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
