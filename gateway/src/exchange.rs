//! One client request, from its arrival to the end of its response, as telemetry sees it. The
//! handler tells it what it learns (the plan, the upstream, each attempt); when the request ends
//! (the whole response is ready, the stream ends, or the client goes away) it computes the
//! figures once ([`crate::accounting`]) and hands them on:
//!
//! - to the route actor, with `do_send`, never awaited;
//! - to the request's SERVER span (and its answered CLIENT span), which it ends;
//! - as the analytics record, to the analytics log when one is configured, else to the span as an
//!   event: one destination, so that a record (with its payloads, when logged) is not shipped and
//!   stored twice.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;
use bytes::Bytes;
use opentelemetry::{KeyValue, StringValue, Value};
use provider_sdk::abi::{ResponseMeta, RouteType};

use crate::accounting::{self, EstimateFrom, Tokens};
use crate::errors::GatewayError;
use crate::estimate::{text_chars, GENERATED_KEYS, PROMPT_KEYS};
use crate::plan::{Plan, RequestParams};
use crate::route_actor::RouteActorRef;
use crate::runtime::RouteRuntime;
use crate::stats::{ErrorClass, Outcome, TargetKey};
use crate::telemetry::analytics::{self, AzureMeta, LoggedResponse, Payloads, RecordInput};
use crate::telemetry::metrics::split_authority;
use crate::telemetry::semconv;
use crate::telemetry::server_span::{encode_attributes, Scalar, ServerSpan};
use crate::telemetry::spans::RequestSpan;
use crate::telemetry::Telemetry;

/// The body of the response, as far as telemetry needs it.
pub enum ResponseBody<'a> {
    /// No body from the upstream (the request failed before one).
    None,
    /// A whole body, as sent to the client.
    Whole(&'a [u8]),
    /// A stream: the characters of generated text the client received (for the estimate), and
    /// the SSE itself when payloads are logged (`cut` when it outgrew the log's limit).
    Stream {
        generated_chars: u64,
        sse: Option<&'a [u8]>,
        cut: bool,
    },
}

/// How a request ended.
pub struct Ending<'a> {
    pub status: u16,
    pub error: Option<ErrorClass>,
    /// Why, for the span's status, when it failed.
    pub message: Option<&'a str>,
    pub meta: &'a ResponseMeta,
    /// When the first byte went to the client, for streams.
    pub first_byte: Option<Instant>,
    pub body: ResponseBody<'a>,
}

impl<'a> Ending<'a> {
    /// A request the gateway answered with `error`.
    pub fn failed(error: &'a GatewayError, meta: &'a ResponseMeta) -> Ending<'a> {
        Ending {
            status: error.status.as_u16(),
            error: Some(error.class),
            message: Some(&error.message),
            meta,
            first_byte: None,
            body: ResponseBody::None,
        }
    }
}

/// One upstream attempt: its CLIENT span, when it has one, and the headers that carry its trace
/// context upstream.
///
/// The first attempt has no span of its own: the upstream gets the SERVER span's context, so a
/// request that goes upstream once is one span. Only when a retry follows is the first attempt's
/// CLIENT span made, after the fact, from the time it began; every retry has its own from the
/// start and sends its own context.
pub struct Attempt {
    span: Option<RequestSpan>,
    started: SystemTime,
    pub propagation: Option<HeaderMap>,
}

pub struct Exchange {
    state: Option<Box<State>>,
}

struct State {
    actor: RouteActorRef,
    route: Arc<RouteRuntime>,
    telemetry: Arc<Telemetry>,
    started: Instant,
    span: Option<ServerSpan>,
    /// The attempt the upstream answered; it ends with the request.
    answered: Option<RequestSpan>,
    model: String,
    costs: Option<(f64, f64)>,
    azure: Option<Arc<AzureMeta>>,
    /// `host:port` of the upstream.
    host: String,
    retries: u32,
    client_body: Bytes,
    upstream_body: Option<Bytes>,
}

impl Exchange {
    /// Starts the record of `req` on `route`, and its SERVER span when traces are exported.
    pub fn begin(
        req: &HttpRequest,
        route: Arc<RouteRuntime>,
        actor: RouteActorRef,
        telemetry: Arc<Telemetry>,
        started: Instant,
    ) -> Exchange {
        let name = match &route.ai {
            Some(ai) => ai.config.route_type.operation_name(),
            None => "proxy",
        };
        let span = telemetry.tracing.as_ref().map(|tracing| {
            let mut span = tracing.server_span(req.headers(), name, &route.span_attributes);
            span.set(
                semconv::HTTP_REQUEST_METHOD,
                Scalar::Str(req.method().as_str()),
            );
            span.set(semconv::URL_PATH, Scalar::Str(req.path()));
            span
        });
        Exchange {
            state: Some(Box::new(State {
                actor,
                route,
                telemetry,
                started,
                span,
                answered: None,
                model: String::new(),
                costs: None,
                azure: None,
                host: String::new(),
                retries: 0,
                client_body: Bytes::new(),
                upstream_body: None,
            })),
        }
    }

    /// Moves the record out, for a response body that ends the request later.
    pub fn hand_over(&mut self) -> Exchange {
        Exchange {
            state: self.state.take(),
        }
    }

    /// Whether the record is still to be finished.
    pub fn is_open(&self) -> bool {
        self.state.is_some()
    }

    /// Whether the request's span records, so that its request parameters are worth reading.
    pub fn wants_request_params(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.span_records())
    }

    /// Whether the route logs request and response bodies.
    pub fn logs_payloads(&self) -> bool {
        self.state
            .as_ref()
            .and_then(|s| s.route.ai.as_ref())
            .is_some_and(|ai| ai.config.logging.log_payloads)
    }

    /// The client's body, kept (by reference count) for the estimate and the payload log.
    pub fn client_body(&mut self, body: &Bytes) {
        if let Some(state) = &mut self.state {
            state.client_body = body.clone();
        }
    }

    /// The plan is made: the model is known. `asked` holds the client's tuning parameters when
    /// they were read.
    pub fn planned(&mut self, plan: &Plan, asked: Option<RequestParams>) {
        let Some(state) = &mut self.state else { return };
        state.model = plan.model.clone();
        state.costs = plan.costs;
        state.azure = plan.azure.clone();
        let Some(span) = state.span.as_mut() else {
            return;
        };
        if !plan.model.is_empty() {
            span.name_model(&plan.model);
        }
        if !span.is_recording() {
            return;
        }
        span.set(semconv::REQUEST_MODEL, Scalar::Str(&plan.model));
        // Configured tuning overrides the client's (Kong's rule), so the upstream got these.
        let asked = asked.unwrap_or_default();
        if let Some(n) = plan.tuning.max_tokens.or(asked.max_tokens) {
            span.set(
                semconv::REQUEST_MAX_TOKENS,
                Scalar::Int(i64::try_from(n).unwrap_or(i64::MAX)),
            );
        }
        if let Some(t) = plan.tuning.temperature.or(asked.temperature) {
            span.set(semconv::REQUEST_TEMPERATURE, Scalar::Float(t));
        }
        if let Some(p) = plan.tuning.top_p.or(asked.top_p) {
            span.set(semconv::REQUEST_TOP_P, Scalar::Float(p));
        }
    }

    /// The upstream request is ready to go to `url`, whose host is `host`, with `body`.
    pub fn sending(&mut self, url: &str, host: &str, body: Option<&Bytes>) {
        let logs_payloads = self.logs_payloads();
        let Some(state) = &mut self.state else { return };
        state.host = crate::upstream::authority_of(url, host);
        if logs_payloads {
            state.upstream_body = body.cloned();
        }
    }

    /// Starts upstream attempt number `n` (0 for the first) of `method`.
    pub fn attempt(&mut self, n: u32, method: &str) -> Attempt {
        let mut attempt = Attempt {
            span: None,
            started: SystemTime::now(),
            propagation: None,
        };
        let Some(state) = &self.state else {
            return attempt;
        };
        let (Some(tracing), Some(parent)) = (&state.telemetry.tracing, &state.span) else {
            return attempt;
        };
        if n == 0 {
            attempt.propagation = Some(tracing.propagation(parent.context()));
            return attempt;
        }
        let (span, headers) = tracing.attempt_span(
            parent.context(),
            parent.name().to_string(),
            attempt.started,
            state.attempt_attributes(n, method),
        );
        attempt.span = Some(span);
        attempt.propagation = Some(headers);
        attempt
    }

    /// The attempt failed with `error`; another follows when `retrying`.
    pub fn attempt_failed(
        &mut self,
        n: u32,
        method: &str,
        attempt: Attempt,
        error: &GatewayError,
        retrying: bool,
    ) {
        let span = match attempt.span {
            Some(span) => Some(span),
            None if retrying => self.state.as_ref().and_then(|state| {
                let tracing = state.telemetry.tracing.as_ref()?;
                let parent = state.span.as_ref()?;
                let attributes = state.attempt_attributes(n, method);
                let name = parent.name().to_string();
                Some(
                    tracing
                        .attempt_span(parent.context(), name, attempt.started, attributes)
                        .0,
                )
            }),
            None => None,
        };
        if let Some(span) = span {
            span.set_attributes(vec![KeyValue::new(
                semconv::ERROR_TYPE,
                error.class.as_str(),
            )]);
            span.end(Some(error.message.clone()));
        }
        if retrying {
            if let Some(state) = &mut self.state {
                state.retries += 1;
            }
        }
    }

    /// The upstream answered the attempt with `status`.
    pub fn attempt_answered(&mut self, attempt: Attempt, status: u16) {
        let Some(span) = attempt.span else { return };
        span.set_attributes(vec![KeyValue::new(
            semconv::HTTP_RESPONSE_STATUS_CODE,
            i64::from(status),
        )]);
        if let Some(state) = &mut self.state {
            state.answered = Some(span);
        }
    }

    /// Ends the record; later calls do nothing.
    pub fn finish(&mut self, ending: Ending<'_>) {
        if let Some(state) = self.state.take() {
            state.finish(ending);
        }
    }
}

/// A request whose future was dropped before it ended: the client went away while the gateway
/// was still waiting for the upstream.
impl Drop for Exchange {
    fn drop(&mut self) {
        let meta = ResponseMeta::default();
        self.finish(Ending {
            status: 499,
            error: Some(ErrorClass::ClientClosed),
            message: Some("the client closed the connection"),
            meta: &meta,
            first_byte: None,
            body: ResponseBody::None,
        });
    }
}

impl State {
    /// Whether the request has a SERVER span that records.
    fn span_records(&self) -> bool {
        self.span.as_ref().is_some_and(ServerSpan::is_recording)
    }

    /// The attributes of the CLIENT span of attempt `n`.
    fn attempt_attributes(&self, n: u32, method: &str) -> Vec<KeyValue> {
        let (address, port) = split_authority(&self.host);
        let mut attributes = vec![
            KeyValue::new(semconv::HTTP_REQUEST_METHOD, method.to_string()),
            KeyValue::new(semconv::SERVER_ADDRESS, address.to_string()),
        ];
        if let Some(port) = port {
            attributes.push(KeyValue::new(semconv::SERVER_PORT, i64::from(port)));
        }
        if n > 0 {
            attributes.push(KeyValue::new(
                semconv::HTTP_REQUEST_RESEND_COUNT,
                i64::from(n),
            ));
        }
        if let Some(ai) = &self.route.ai {
            let (provider, system) = semconv::provider_names(&ai.config.model.provider);
            attributes.extend([
                KeyValue::new(
                    semconv::OPERATION_NAME,
                    ai.config.route_type.operation_name(),
                ),
                KeyValue::new(semconv::PROVIDER_NAME, provider.to_string()),
                KeyValue::new(semconv::SYSTEM, system.to_string()),
                KeyValue::new(semconv::REQUEST_MODEL, self.model.clone()),
            ]);
        }
        attributes
    }

    fn finish(mut self: Box<Self>, e: Ending<'_>) {
        let duration = self.started.elapsed();
        let ttft = e
            .first_byte
            .map(|t| t.saturating_duration_since(self.started));
        let success = e.error.is_none() && (200..300).contains(&e.status);
        let tokens = accounting::settle(&e.meta.usage, self.estimate_from(&e, success));
        let cost = accounting::cost_of(tokens.prompt, tokens.completion, self.costs);
        let tpot = success
            .then(|| accounting::time_per_output_token(duration, ttft, tokens.completion))
            .flatten();
        // Written only when something takes it: the log, or else a span that records.
        let taken = self.telemetry.analytics.is_some() || self.span_records();
        let event = match taken
            .then(|| self.analytics_input(&e, &tokens, cost, duration))
            .flatten()
        {
            Some(input) => match &self.telemetry.analytics {
                Some(sink) => {
                    sink.send(|out| analytics::write_record(&input, out));
                    None
                }
                None => Some(analytics::record_json(&input)),
            },
            None => None,
        };
        if let Some(span) = self.span.take() {
            let timings = Timings { ttft, tpot };
            self.end_spans(span, &e, &tokens, cost, timings, event.as_deref());
        }
        let State {
            actor,
            model,
            host,
            retries,
            ..
        } = *self;
        actor.record(Outcome {
            status: e.status,
            error: e.error,
            target: TargetKey {
                model,
                response_model: e.meta.response_model.to_string(),
                host,
            },
            tokens,
            cost,
            latency_us: micros(duration),
            ttft_us: ttft.map(micros),
            tpot_us: tpot.map(micros),
            retries,
        });
    }

    /// The text an estimate may be made from, read only for a count the provider did not report
    /// on a successful, OpenAI-shaped response.
    fn estimate_from(&self, e: &Ending<'_>, success: bool) -> EstimateFrom {
        let Some(route_type) = self.route.ai.as_ref().map(|ai| ai.config.route_type) else {
            return EstimateFrom::default();
        };
        if !success || route_type == RouteType::PRESERVE {
            return EstimateFrom::default();
        }
        let usage = &e.meta.usage;
        let prompt_chars = usage
            .prompt_tokens
            .is_none()
            .then(|| text_chars(&self.client_body, &PROMPT_KEYS));
        let completion_chars =
            if route_type == RouteType::EMBEDDINGS || usage.completion_tokens.is_some() {
                None
            } else {
                match e.body {
                    ResponseBody::Whole(body) => Some(text_chars(body, &GENERATED_KEYS)),
                    ResponseBody::Stream {
                        generated_chars, ..
                    } => Some(generated_chars),
                    ResponseBody::None => None,
                }
            };
        EstimateFrom {
            prompt_chars,
            completion_chars,
        }
    }

    /// What the Kong-compatible record is written from, for routes that log statistics or payloads.
    fn analytics_input<'a>(
        &'a self,
        e: &Ending<'a>,
        tokens: &Tokens,
        cost: f64,
        duration: Duration,
    ) -> Option<RecordInput<'a>> {
        let ai = self.route.ai.as_ref()?;
        let logging = &ai.config.logging;
        if !logging.log_statistics && !logging.log_payloads {
            return None;
        }
        let provider = ai.config.model.provider.as_str();
        let llm_latency_ms = duration.as_millis() as u64;
        let payloads = logging.log_payloads.then(|| Payloads {
            request: &self.client_body,
            upstream_request: self.upstream_body.as_deref(),
            response: match e.body {
                ResponseBody::None => LoggedResponse::Whole(b""),
                ResponseBody::Whole(body) => LoggedResponse::Whole(body),
                ResponseBody::Stream { sse, cut, .. } => LoggedResponse::Stream {
                    sse: sse.unwrap_or_default(),
                    cut,
                },
            },
            body_param: ai.body_param_name(),
            completions: ai.config.route_type == RouteType::COMPLETIONS,
        });
        Some(RecordInput {
            plugin_id: &ai.plugin_id,
            provider,
            request_model: &self.model,
            llm_latency_ms,
            azure: self.azure.as_deref(),
            meta: e.meta,
            tokens: *tokens,
            time_per_token: accounting::time_per_token_ms(llm_latency_ms, tokens.completion),
            cost,
            payloads,
        })
    }

    fn end_spans(
        &mut self,
        mut span: ServerSpan,
        e: &Ending<'_>,
        tokens: &Tokens,
        cost: f64,
        timings: Timings,
        record: Option<&str>,
    ) {
        let Some(tracing) = self.telemetry.tracing.as_ref() else {
            return;
        };
        let error_type = e.error.map(ErrorClass::as_str);
        if let Some(answered) = self.answered.take() {
            if let Some(error_type) = error_type {
                answered.set_attributes(vec![KeyValue::new(semconv::ERROR_TYPE, error_type)]);
            }
            answered.end(e.message.map(str::to_owned));
        }
        if !span.is_recording() {
            return;
        }
        span.set(
            semconv::HTTP_RESPONSE_STATUS_CODE,
            Scalar::Int(i64::from(e.status)),
        );
        // Attributes whose value would only say "nothing happened" (no retry, no estimate, no
        // prices configured) are left out, as the conventions do with `http.request.resend_count`:
        // each costs the collector an allocation per span.
        if self.retries > 0 {
            span.set(semconv::RETRIES, Scalar::Int(i64::from(self.retries)));
        }
        if !self.host.is_empty() {
            let (address, port) = split_authority(&self.host);
            span.set(semconv::SERVER_ADDRESS, Scalar::Str(address));
            if let Some(port) = port {
                span.set(semconv::SERVER_PORT, Scalar::Int(i64::from(port)));
            }
        }
        if let Some(error_type) = error_type {
            span.set(semconv::ERROR_TYPE, Scalar::Str(error_type));
        }
        let meta = e.meta;
        if !meta.response_model.is_empty() {
            span.set(semconv::RESPONSE_MODEL, Scalar::Str(&meta.response_model));
        }
        if !meta.response_id.is_empty() {
            span.set(semconv::RESPONSE_ID, Scalar::Str(&meta.response_id));
        }
        if !meta.finish_reasons.is_empty() {
            span.set_strings(
                semconv::RESPONSE_FINISH_REASONS,
                meta.finish_reasons.iter().map(|r| r.as_str()),
            );
        }
        if self.route.ai.is_some() && e.error.is_none() {
            span.set(
                semconv::USAGE_INPUT_TOKENS,
                Scalar::Int(to_i64(tokens.prompt)),
            );
            span.set(
                semconv::USAGE_OUTPUT_TOKENS,
                Scalar::Int(to_i64(tokens.completion)),
            );
            if tokens.estimated {
                span.set(semconv::USAGE_ESTIMATED, Scalar::Bool(true));
            }
            if self.costs.is_some() {
                span.set(semconv::COST, Scalar::Float(cost));
            }
            if let Some(cached) = tokens.cached {
                span.set(
                    semconv::USAGE_CACHE_READ_INPUT_TOKENS,
                    Scalar::Int(to_i64(cached)),
                );
            }
        }
        if let Some(ttft) = timings.ttft {
            span.set(semconv::TTFT_MS, Scalar::Float(millis(ttft)));
        }
        if let Some(tpot) = timings.tpot {
            span.set(
                semconv::TIME_PER_OUTPUT_TOKEN_MS,
                Scalar::Float(millis(tpot)),
            );
        }
        if let Some(record) = record {
            span.add_event(semconv::ANALYTICS_EVENT, semconv::ANALYTICS_EVENT, record);
        }
        tracing.end_server_span(span, e.message);
    }
}

/// The attributes every SERVER span of a route starts with, written as protobuf.
pub fn route_span_attributes(
    route: &str,
    service: &str,
    ai: Option<&crate::runtime::AiRoute>,
) -> Vec<u8> {
    let mut attributes = semconv::route_attributes(route, service, ai);
    if let Some(ai) = ai {
        attributes.push(KeyValue::new(
            semconv::PROVIDER_MODULE,
            Value::String(StringValue::from(ai.module_file.clone())),
        ));
    }
    encode_attributes(&attributes)
}

/// A stream's time to first token and time per output token.
struct Timings {
    ttft: Option<Duration>,
    tpot: Option<Duration>,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
