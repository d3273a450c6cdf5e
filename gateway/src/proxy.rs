//! The data path of one proxied request: route, read and check the body, ask the route actor for
//! a plan, let the provider module build the upstream request, apply auth, send, and translate
//! the answer (whole or streamed) back. Every failure becomes an OpenAI-shaped error, and every
//! request, failed or not, is recorded ([`Exchange`]): in its route's statistics, its span and
//! its analytics record.

use std::time::Instant;

use abi_stable::std_types::{RSlice, RStr};
use actix::Addr;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use provider_sdk::abi::{HeaderRef, RequestPlan, ResponseMeta, RouteType};

use crate::errors::GatewayError;
use crate::exchange::{Ending, Exchange, ResponseBody};
use crate::plan::{Plan, PlanInput, RequestFacts, TemplateInputs};
use crate::route_actor::{MakePlan, RouteActor, RouteActorRef};
use crate::router::RouteMatch;
use crate::runtime::{AiRoute, RouteRuntime};
use crate::server::WorkerState;
use crate::stream::TranslatingStream;

/// The most a whole (non-streamed) upstream response may hold.
const MAX_UPSTREAM_BODY: usize = 64 * 1024 * 1024;

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus those the
/// gateway sets itself for the next hop.
pub(crate) const NOT_FORWARDED_UPSTREAM: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "accept-encoding",
    "expect",
];

const NOT_FORWARDED_DOWNSTREAM: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "content-encoding",
    "set-cookie",
    "date",
    "server",
];

pub async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    worker: web::Data<WorkerState>,
) -> HttpResponse {
    let started = Instant::now();
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    let Some(found) = worker
        .runtime
        .router
        .find(req.method().as_str(), host, req.path())
    else {
        return GatewayError::no_route().error_response();
    };
    let route = worker.runtime.routes[found.route].clone();
    let mut exchange = Exchange::begin(
        &req,
        route.clone(),
        RouteActorRef::new(worker.clone(), found.route),
        worker.telemetry.clone(),
        started,
    );
    match proxy(
        &req,
        payload,
        &worker,
        &route,
        &found,
        &worker.actors[found.route],
        &mut exchange,
    )
    .await
    {
        Ok(response) => response,
        Err(e) => {
            if e.status.is_server_error() {
                tracing::warn!(route = %route.name, status = e.status.as_u16(), "{}", e.message);
            }
            exchange.finish(Ending::failed(&e, &ResponseMeta::default()));
            e.error_response()
        }
    }
}

fn content_type_is_json(req: &HttpRequest) -> Result<(), GatewayError> {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("");
    let essence = text
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        Ok(())
    } else {
        Err(GatewayError::unsupported_media_type(text))
    }
}

async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Bytes, GatewayError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(GatewayError::too_large(limit));
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| GatewayError::bad_request(format!("cannot read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(GatewayError::too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn template_inputs(req: &HttpRequest, found: &RouteMatch) -> TemplateInputs {
    TemplateInputs {
        headers: req.headers().clone(),
        captures: found.captures.clone(),
        query: req.query_string().to_string(),
    }
}

fn client_header_refs(headers: &HeaderMap) -> Vec<HeaderRef<'_>> {
    headers
        .iter()
        .filter(|(k, _)| !NOT_FORWARDED_UPSTREAM.contains(&k.as_str()))
        .filter_map(|(k, v)| {
            Some(HeaderRef {
                name: RStr::from_str(k.as_str()),
                value: RStr::from_str(v.to_str().ok()?),
            })
        })
        .collect()
}

fn response_header_refs(headers: &HeaderMap) -> Vec<HeaderRef<'_>> {
    headers
        .iter()
        .filter_map(|(k, v)| {
            Some(HeaderRef {
                name: RStr::from_str(k.as_str()),
                value: RStr::from_str(v.to_str().ok()?),
            })
        })
        .collect()
}

fn header_pair(name: &str, value: &str) -> Option<(HeaderName, HeaderValue)> {
    Some((
        HeaderName::try_from(name).ok()?,
        HeaderValue::try_from(value).ok()?,
    ))
}

#[allow(clippy::too_many_arguments)]
async fn proxy(
    req: &HttpRequest,
    payload: web::Payload,
    worker: &WorkerState,
    route: &RouteRuntime,
    found: &RouteMatch,
    actor: &Addr<RouteActor>,
    exchange: &mut Exchange,
) -> Result<HttpResponse, GatewayError> {
    let Some(ai) = &route.ai else {
        return crate::passthrough::forward(
            req,
            payload,
            &worker.clients[route.service],
            &worker.runtime.services[route.service],
            found,
            exchange,
        )
        .await;
    };
    let route_type = ai.config.route_type;
    let preserve = route_type == RouteType::PRESERVE;
    if !preserve {
        content_type_is_json(req)?;
    }
    let body = read_body(req, payload, ai.config.max_request_body_size).await?;
    exchange.client_body(&body);

    let facts = RequestFacts::read(route_type, &body)?;
    let asked = exchange.wants_request_params().then_some(facts.params);
    let input = PlanInput {
        body_model: facts.model,
        stream_requested: facts.stream,
        include_usage: facts.include_usage,
        template: ai.templated.then(|| template_inputs(req, found)),
    };
    let plan = actor
        .send(MakePlan(input))
        .await
        .map_err(|e| GatewayError::internal(format!("route actor unavailable: {e}")))??;
    exchange.planned(&plan, asked);

    let client_headers = client_header_refs(req.headers());
    let ffi_plan = RequestPlan {
        route_type,
        model: RStr::from_str(&plan.model),
        options: RStr::from_str(&plan.options_json),
        stream: plan.stream,
        client_wants_usage: plan.client_wants_usage,
        client_method: RStr::from_str(req.method().as_str()),
        client_path: RStr::from_str(req.path()),
        client_query: RStr::from_str(req.query_string()),
        client_headers: RSlice::from_slice(&client_headers),
    };
    let upstream = ai
        .provider
        .build_request(&ffi_plan, &body, &facts.members)
        .map_err(GatewayError::from_module)?;

    let mut url = upstream.url.into_string();
    crate::auth::apply_query(&ai.config.auth, &mut url);
    let upstream_host = crate::upstream::host_of(&url).to_string();
    let signed = upstream.signing.is_some();
    let method = Method::from_bytes(upstream.method.as_bytes())
        .map_err(|_| GatewayError::internal("provider module returned an invalid method"))?;
    let upstream_body = match upstream.body.into_option() {
        Some(b) => Bytes::from_owner(b),
        None => body.clone(),
    };
    let upstream_body = crate::auth::apply_body(&ai.config.auth, upstream_body, signed);
    exchange.sending(&url, &upstream_host, Some(&upstream_body));

    let client = &worker.clients[route.service];
    let mut request = client.request(method, url.as_str());
    {
        let headers = request.headers_mut();
        for (k, v) in req.headers() {
            let name = k.as_str();
            if !NOT_FORWARDED_UPSTREAM.contains(&name)
                && !crate::auth::withholds_client_header(&ai.config.auth, name)
            {
                headers.append(k.clone(), v.clone());
            }
        }
        for h in upstream.headers.iter() {
            if let Some((k, v)) = header_pair(&h.name, &h.value) {
                headers.insert(k, v);
            }
        }
        crate::auth::apply_header(&ai.config.auth, req.headers(), headers)?;
    }
    // Last, so that a signature covers the request exactly as it is sent.
    ai.cloud_auth
        .apply(
            &route.name,
            upstream.signing.as_ref().into_option(),
            client,
            &mut request,
            &upstream_body,
        )
        .await?;
    let service = &worker.runtime.services[route.service];
    let request = request
        .freeze()
        .map_err(|e| GatewayError::internal(format!("cannot build the upstream request: {e}")))?;
    let mut response = crate::attempts::send(
        &request,
        &upstream_body,
        service.retries,
        &upstream_host,
        exchange,
    )
    .await?;
    let status = response.status();

    // A preserved call streams when the upstream says so: its body is the client's business, so
    // the plan cannot know beforehand.
    let streamed = status.is_success()
        && if preserve {
            is_event_stream(response.headers())
        } else {
            plan.stream
        };
    if streamed {
        let translator = ai
            .provider
            .new_stream_translator(
                &ffi_plan,
                status.as_u16(),
                &response_header_refs(response.headers()),
            )
            .map_err(GatewayError::from_module)?;
        let mut client_response = HttpResponse::build(status);
        copy_response_headers(response.headers(), &mut client_response);
        client_response.insert_header((header::CONTENT_TYPE, "text/event-stream"));
        client_response.insert_header((header::CACHE_CONTROL, "no-cache"));
        add_model_header(ai, &plan, &mut client_response);
        let upstream_stream = Box::pin(response.take_payload());
        let body = TranslatingStream::new(
            upstream_stream,
            translator,
            service.read_timeout,
            upstream_host,
            exchange.hand_over(),
        );
        return Ok(client_response.streaming(body));
    }

    let upstream_bytes = response
        .body()
        .limit(MAX_UPSTREAM_BODY)
        .await
        .map_err(|e| crate::upstream::payload_error(e, &upstream_host))?;
    let header_refs = response_header_refs(response.headers());
    let (status, extra_headers, body, meta) = if preserve {
        let meta = ai
            .provider
            .native_metadata(&ffi_plan, status.as_u16(), &upstream_bytes)
            .unwrap_or_default();
        (status, Vec::new(), upstream_bytes, meta)
    } else {
        let translated = ai
            .provider
            .parse_response(&ffi_plan, status.as_u16(), &header_refs, &upstream_bytes)
            .map_err(GatewayError::from_module)?;
        let status = StatusCode::from_u16(translated.status).unwrap_or(StatusCode::BAD_GATEWAY);
        let body = match translated.body.into_option() {
            Some(b) => Bytes::from_owner(b),
            None => upstream_bytes,
        };
        (status, translated.headers.into_vec(), body, translated.meta)
    };

    let mut client_response = HttpResponse::build(status);
    copy_response_headers(response.headers(), &mut client_response);
    for h in &extra_headers {
        if let Some(pair) = header_pair(&h.name, &h.value) {
            client_response.insert_header(pair);
        }
    }
    if status.is_success() {
        add_model_header(ai, &plan, &mut client_response);
    }
    let error = upstream_error(status);
    let message = error.map(|_| format!("upstream answered {}", status.as_u16()));
    exchange.finish(Ending {
        status: status.as_u16(),
        error,
        message: message.as_deref(),
        meta: &meta,
        first_byte: None,
        body: ResponseBody::Whole(&body),
    });
    Ok(client_response.body(body))
}

/// The error class of an upstream's status, if it is an error.
pub(crate) fn upstream_error(status: StatusCode) -> Option<crate::stats::ErrorClass> {
    if status.is_client_error() {
        Some(crate::stats::ErrorClass::Upstream4xx)
    } else if status.is_server_error() {
        Some(crate::stats::ErrorClass::Upstream5xx)
    } else {
        None
    }
}

fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/event-stream")
        })
}

pub(crate) fn copy_response_headers(from: &HeaderMap, to: &mut actix_web::HttpResponseBuilder) {
    for (k, v) in from {
        if !NOT_FORWARDED_DOWNSTREAM.contains(&k.as_str()) {
            to.append_header((k.clone(), v.clone()));
        }
    }
}

fn add_model_header(ai: &AiRoute, plan: &Plan, to: &mut actix_web::HttpResponseBuilder) {
    if ai.config.model_name_header && !plan.model.is_empty() {
        let provider = &ai.config.model.provider;
        let mut value = BytesMut::with_capacity(provider.len() + 1 + plan.model.len());
        value.extend_from_slice(provider.as_bytes());
        value.extend_from_slice(b"/");
        value.extend_from_slice(plan.model.as_bytes());
        if let Ok(v) = HeaderValue::from_maybe_shared(value.freeze()) {
            to.insert_header((HeaderName::from_static("x-kong-llm-model"), v));
        }
    }
}
