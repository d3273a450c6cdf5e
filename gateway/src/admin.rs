//! The admin listener: read-only status of the running gateway.
//!
//! - `GET /status/routes`: each route's statistics, merged across the workers' route actors, in
//!   total and per target (model, answering model, upstream host).
//! - `GET /status/providers`: the loaded provider modules and the files that were skipped.
//! - `GET /metrics`: the same statistics as Prometheus text, with the GenAI metric names.

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::{web, App, HttpResponse, HttpServer};
use serde::Serialize;

use crate::errors::GatewayError;
use crate::runtime::Runtime;
use crate::server::ActorDirectory;
use crate::stats::{Counters, ErrorCounts, LatencySummary};
use crate::telemetry::Telemetry;

pub struct AdminState {
    pub runtime: Arc<Runtime>,
    pub directory: Arc<ActorDirectory>,
    pub telemetry: Arc<Telemetry>,
    pub providers: Vec<ProviderStatus>,
    pub skipped: Vec<SkippedStatus>,
}

#[derive(Serialize, Clone)]
pub struct ProviderStatus {
    pub name: String,
    pub sdk_version: String,
    pub route_types: Vec<&'static str>,
    pub default_auth: String,
    pub file: String,
}

#[derive(Serialize, Clone)]
pub struct SkippedStatus {
    pub file: String,
    pub reason: String,
}

#[derive(Serialize)]
struct RouteStatus<'a> {
    name: &'a str,
    service: &'a str,
    provider: Option<&'a str>,
    route_type: Option<&'static str>,
    #[serde(flatten)]
    counters: CounterStatus,
    targets: Vec<TargetStatus<'a>>,
}

/// One target of a route: where its requests went.
#[derive(Serialize)]
struct TargetStatus<'a> {
    provider: Option<&'a str>,
    model: &'a str,
    response_model: &'a str,
    host: &'a str,
    #[serde(flatten)]
    counters: CounterStatus,
}

#[derive(Serialize)]
struct CounterStatus {
    requests: u64,
    responses: ResponseCounts,
    errors: ErrorCounts,
    tokens: TokenCounts,
    cost: f64,
    retries: u64,
    latency_ms: LatencySummary,
    ttft_ms: LatencySummary,
}

impl CounterStatus {
    fn of(c: &Counters) -> CounterStatus {
        CounterStatus {
            requests: c.requests,
            responses: ResponseCounts {
                ok: c.responses_2xx,
                client_error: c.responses_4xx,
                server_error: c.responses_5xx,
            },
            errors: c.errors,
            tokens: TokenCounts {
                prompt: c.prompt_tokens,
                completion: c.completion_tokens,
                total: c.total_tokens,
            },
            cost: c.cost,
            retries: c.retries,
            latency_ms: c.latency.summary_ms(),
            ttft_ms: c.ttft.summary_ms(),
        }
    }
}

#[derive(Serialize)]
struct ResponseCounts {
    #[serde(rename = "2xx")]
    ok: u64,
    #[serde(rename = "4xx")]
    client_error: u64,
    #[serde(rename = "5xx")]
    server_error: u64,
}

#[derive(Serialize)]
struct TokenCounts {
    prompt: u64,
    completion: u64,
    total: u64,
}

async fn status_routes(state: web::Data<AdminState>) -> HttpResponse {
    let merged = state.directory.merged_stats(state.runtime.routes.len());
    let routes: Vec<RouteStatus<'_>> = state
        .runtime
        .routes
        .iter()
        .zip(merged.iter())
        .map(|(route, s)| {
            let provider = route
                .ai
                .as_ref()
                .map(|ai| ai.config.model.provider.as_str());
            RouteStatus {
                name: &route.name,
                service: &route.service_name,
                provider,
                route_type: route.ai.as_ref().map(|ai| ai.config.route_type.as_str()),
                counters: CounterStatus::of(&s.totals),
                targets: s
                    .sorted_targets()
                    .into_iter()
                    .map(|(key, target)| TargetStatus {
                        provider,
                        model: &key.model,
                        response_model: &key.response_model,
                        host: &key.host,
                        counters: CounterStatus::of(&target.counters),
                    })
                    .collect(),
            }
        })
        .collect();
    HttpResponse::Ok().json(serde_json::json!({ "routes": routes }))
}

async fn metrics(state: web::Data<AdminState>) -> HttpResponse {
    let merged = state.directory.merged_stats(state.runtime.routes.len());
    let text = crate::telemetry::prometheus::render(
        &state.runtime.routes,
        &merged,
        &state.telemetry.dropped,
    );
    HttpResponse::Ok()
        .content_type(crate::telemetry::prometheus::CONTENT_TYPE)
        .body(text)
}

async fn status_providers(state: web::Data<AdminState>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "providers": state.providers,
        "skipped": state.skipped,
    }))
}

async fn not_found() -> Result<HttpResponse, GatewayError> {
    Err(GatewayError::no_route())
}

pub fn bind_admin(
    state: AdminState,
    listen: SocketAddr,
) -> std::io::Result<(actix_web::dev::Server, Vec<SocketAddr>)> {
    let state = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/status/routes", web::get().to(status_routes))
            .route("/status/providers", web::get().to(status_providers))
            .route("/metrics", web::get().to(metrics))
            .default_service(web::to(not_found))
    })
    .workers(1)
    .bind(listen)?;
    let addrs = server.addrs();
    Ok((server.run(), addrs))
}
