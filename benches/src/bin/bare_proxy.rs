//! The thinnest reverse proxy on the gateway's own HTTP stack, for the load harness: actix-web in,
//! awc out, configured as the gateway configures them (workers, `TCP_NODELAY`, the upstream pool,
//! jemalloc), and nothing else: no routing table, no JSON, no telemetry. It answers the question
//! the gateway's ratio to nginx cannot: how much of the gap is the stack's, which the design fixes,
//! and how much is the gateway's own work on top of it.
//!
//! Every request goes to `--upstream` with the same method, path, query and body; the request's
//! `Content-Type` and `Authorization` go with it, and the response's status, `Content-Type` and
//! body (streamed as it arrives) come back.
//!
//! `bare-proxy --listen 127.0.0.1:9000 --upstream http://127.0.0.1:9100 [--workers CORES]`

use std::time::Duration;

use actix_web::http::header;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use ai_gateway_benches::flag;

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

struct Upstream {
    base: String,
    client: awc::Client,
}

fn client() -> awc::Client {
    let connector = awc::Connector::new()
        .timeout(Duration::from_secs(5))
        .limit(4096)
        .conn_keep_alive(Duration::from_secs(60));
    awc::Client::builder()
        .connector(connector)
        .disable_redirects()
        .no_default_headers()
        .timeout(Duration::from_secs(60))
        .finish()
}

async fn forward(
    req: HttpRequest,
    body: web::Bytes,
    upstream: web::Data<Upstream>,
) -> HttpResponse {
    let mut url = String::with_capacity(upstream.base.len() + req.uri().path().len() + 1);
    url.push_str(&upstream.base);
    url.push_str(req.uri().path());
    if let Some(query) = req.uri().query() {
        url.push('?');
        url.push_str(query);
    }
    let mut request = upstream.client.request(req.method().clone(), url);
    for name in [header::CONTENT_TYPE, header::AUTHORIZATION] {
        if let Some(value) = req.headers().get(&name) {
            request = request.insert_header((name, value.clone()));
        }
    }
    match request.send_body(body).await {
        Ok(response) => {
            let mut answer = HttpResponse::build(response.status());
            if let Some(value) = response.headers().get(header::CONTENT_TYPE) {
                answer.insert_header((header::CONTENT_TYPE, value.clone()));
            }
            answer.streaming(response)
        }
        Err(e) => HttpResponse::BadGateway().body(e.to_string()),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let listen: String = flag(&args, "--listen", "127.0.0.1:9000".to_string())?;
    let base: String = flag(&args, "--upstream", "http://127.0.0.1:9100".to_string())?;
    // The gateway's default: a worker per core.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let workers: usize = flag(&args, "--workers", cores)?;
    let base = base.trim_end_matches('/').to_string();
    // awc's connector builds a TLS configuration even for plain-HTTP upstreams.
    let _ = rustls::crypto::ring::default_provider().install_default();
    actix_rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(Upstream {
                    base: base.clone(),
                    client: client(),
                }))
                .default_service(web::to(forward))
        })
        .workers(workers)
        .tcp_nodelay(true)
        .max_connections(25_000)
        .bind(listen)?
        .run()
        .await
    })?;
    Ok(())
}
