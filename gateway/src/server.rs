//! The proxy listener: its workers, and what each worker owns (route actors and upstream
//! clients live on the worker's own thread, so the data path never crosses threads).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use actix::{Actor, Addr};
use actix_web::{web, App, HttpServer};

use crate::route_actor::RouteActor;
use crate::runtime::Runtime;
use crate::telemetry::Telemetry;

/// What one worker thread owns.
pub struct WorkerState {
    pub runtime: Arc<Runtime>,
    /// This worker's actor for each route, indexed like `runtime.routes`.
    pub actors: Vec<Addr<RouteActor>>,
    /// This worker's upstream client for each service, indexed like `runtime.services`.
    pub clients: Vec<awc::Client>,
    pub telemetry: Arc<Telemetry>,
}

/// Every worker's route actors, so that the admin API can read and merge their statistics.
#[derive(Default)]
pub struct ActorDirectory {
    workers: Mutex<Vec<Vec<Addr<RouteActor>>>>,
}

impl ActorDirectory {
    fn register(&self, actors: Vec<Addr<RouteActor>>) {
        if let Ok(mut workers) = self.workers.lock() {
            // A restarted worker registers anew; the actors of the one it replaced are gone.
            workers.retain(|w| w.iter().all(|a| a.connected()));
            workers.push(actors);
        }
    }

    pub fn snapshot(&self) -> Vec<Vec<Addr<RouteActor>>> {
        self.workers.lock().map(|w| w.clone()).unwrap_or_default()
    }
}

pub fn bind_proxy(
    runtime: Arc<Runtime>,
    directory: Arc<ActorDirectory>,
    telemetry: Arc<Telemetry>,
    listen: SocketAddr,
    workers: usize,
) -> std::io::Result<(actix_web::dev::Server, Vec<SocketAddr>)> {
    let server = HttpServer::new(move || {
        let actors: Vec<Addr<RouteActor>> = runtime
            .routes
            .iter()
            .map(|route| RouteActor::new(route.clone(), telemetry.instruments.clone()).start())
            .collect();
        directory.register(actors.clone());
        let clients = runtime
            .services
            .iter()
            .map(crate::upstream::client_for)
            .collect();
        App::new()
            .app_data(web::Data::new(WorkerState {
                runtime: runtime.clone(),
                actors,
                clients,
                telemetry: telemetry.clone(),
            }))
            .default_service(web::to(crate::proxy::handle))
    })
    .workers(workers)
    // Without TCP_NODELAY, small SSE writes wait on Nagle's algorithm: measured stream p99 rose
    // from about 4 ms to 30-40 ms.
    .tcp_nodelay(true)
    .max_connections(25_000)
    .bind(listen)?;
    let addrs = server.addrs();
    Ok((server.run(), addrs))
}
