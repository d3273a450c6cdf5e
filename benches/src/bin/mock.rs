//! A fast mock LLM upstream for the load harness: OpenAI chat completions (JSON, or SSE with
//! `--chunks` content events `--delay-ms` apart, then the usage event and `[DONE]`) on
//! `/v1/chat/completions`, and Anthropic Messages SSE (or JSON) on `/v1/messages`. Every body is
//! built once at start-up and sent as shared `Bytes`, so the mock costs as little as it can.
//!
//! A request with an `x-mock-hold` header gets its first event and is then held open until the
//! client goes away: that is how the harness keeps 1,000 streams open for the RSS figure.
//!
//! `mock --listen 127.0.0.1:9000 [--chunks 20] [--delay-ms 0] [--workers 1]`

use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use ai_gateway_benches::flag;
use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};

struct Bodies {
    openai_json: Bytes,
    openai_events: Vec<Bytes>,
    anthropic_json: Bytes,
    anthropic_events: Vec<Bytes>,
    delay: Duration,
}

fn openai_bodies(chunks: usize) -> (Bytes, Vec<Bytes>) {
    let json = Bytes::from_static(br#"{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Two. One plus one makes two, the first even number."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":12,"total_tokens":36}}"#);
    let mut events = Vec::with_capacity(chunks + 3);
    events.push(Bytes::from_static(b"data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"));
    for i in 0..chunks {
        events.push(Bytes::from(format!("data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" word{i}\"}},\"finish_reason\":null}}]}}\n\n")));
    }
    events.push(Bytes::from(format!("data: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"stop\"}}]}}\n\ndata: {{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{{\"prompt_tokens\":24,\"completion_tokens\":{chunks},\"total_tokens\":{}}}}}\n\ndata: [DONE]\n\n", 24 + chunks)));
    (json, events)
}

fn anthropic_bodies(chunks: usize) -> (Bytes, Vec<Bytes>) {
    let json = Bytes::from_static(br#"{"id":"msg_bench","type":"message","role":"assistant","model":"claude-3-5-haiku-latest","content":[{"type":"text","text":"Two. One plus one makes two, the first even number."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":24,"output_tokens":12}}"#);
    let mut events = Vec::with_capacity(chunks + 4);
    events.push(Bytes::from_static(b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_bench\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-3-5-haiku-latest\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":24,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"));
    for i in 0..chunks {
        events.push(Bytes::from(format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\" word{i}\"}}}}\n\n")));
    }
    events.push(Bytes::from(format!("event: content_block_stop\ndata: {{\"type\":\"content_block_stop\",\"index\":0}}\n\nevent: message_delta\ndata: {{\"type\":\"message_delta\",\"delta\":{{\"stop_reason\":\"end_turn\",\"stop_sequence\":null}},\"usage\":{{\"output_tokens\":{chunks}}}}}\n\nevent: message_stop\ndata: {{\"type\":\"message_stop\"}}\n\n")));
    (json, events)
}

/// Whether the client asked for a stream: a byte search, since the mock must not cost a parse.
fn wants_stream(body: &[u8]) -> bool {
    body.windows(13)
        .any(|w| w == b"\"stream\":true" || w == b"\"stream\": tru")
}

fn events(
    events: &[Bytes],
    delay: Duration,
    hold: bool,
) -> impl Stream<Item = Result<Bytes, actix_web::Error>> {
    let events = events.to_vec();
    let taken = if hold { 1 } else { events.len() };
    let sent = stream::unfold((events, 0usize), move |(events, i)| async move {
        if i >= taken {
            return None;
        }
        if i > 0 && !delay.is_zero() {
            actix_rt::time::sleep(delay).await;
        }
        let item = events[i].clone();
        Some((Ok(item), (events, i + 1)))
    });
    // A held stream never ends: the client's disconnect drops it.
    let rest = stream::iter(hold.then_some(())).flat_map(|_| stream::pending());
    sent.chain(rest)
}

fn respond(
    req: &HttpRequest,
    body: &[u8],
    json: &Bytes,
    sse: &[Bytes],
    delay: Duration,
) -> HttpResponse {
    if !wants_stream(body) {
        return HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .body(json.clone());
    }
    let hold = req.headers().contains_key("x-mock-hold");
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .streaming(events(sse, delay, hold))
}

async fn openai(req: HttpRequest, body: Bytes, bodies: web::Data<Bodies>) -> HttpResponse {
    respond(
        &req,
        &body,
        &bodies.openai_json,
        &bodies.openai_events,
        bodies.delay,
    )
}

async fn anthropic(req: HttpRequest, body: Bytes, bodies: web::Data<Bodies>) -> HttpResponse {
    respond(
        &req,
        &body,
        &bodies.anthropic_json,
        &bodies.anthropic_events,
        bodies.delay,
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let listen: String = flag(&args, "--listen", "127.0.0.1:9000".to_string())?;
    let chunks: usize = flag(&args, "--chunks", 20)?;
    let delay_ms: u64 = flag(&args, "--delay-ms", 0)?;
    let workers: usize = flag(&args, "--workers", 1)?;
    let (openai_json, openai_events) = openai_bodies(chunks);
    let (anthropic_json, anthropic_events) = anthropic_bodies(chunks);
    let bodies = web::Data::new(Bodies {
        openai_json,
        openai_events,
        anthropic_json,
        anthropic_events,
        delay: Duration::from_millis(delay_ms),
    });
    actix_rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new()
                .app_data(bodies.clone())
                .route("/v1/chat/completions", web::post().to(openai))
                .route("/v1/messages", web::post().to(anthropic))
        })
        .workers(workers)
        .tcp_nodelay(true)
        .max_connections(25_000)
        .backlog(4096)
        .bind(listen)?
        .run()
        .await
    })?;
    Ok(())
}
