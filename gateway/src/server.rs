//! The proxy listener: its workers, and what each worker owns (route actors and upstream
//! clients live on the worker's own thread, so the data path never crosses threads).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::{Actor, Addr};
use actix_web::{web, App, HttpServer};

use crate::route_actor::{RouteActor, SharedStats};
use crate::runtime::Runtime;
use crate::stats::RouteStats;
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

/// Every worker's route actors and their statistics, so that the admin API and the OTLP metric
/// export can merge them.
#[derive(Default)]
pub struct ActorDirectory {
    workers: Mutex<Vec<WorkerRoutes>>,
}

struct WorkerRoutes {
    actors: Vec<Addr<RouteActor>>,
    stats: Vec<SharedStats>,
}

impl ActorDirectory {
    fn register(&self, actors: Vec<Addr<RouteActor>>, stats: Vec<SharedStats>) {
        if let Ok(mut workers) = self.workers.lock() {
            // A restarted worker registers anew; the actors of the one it replaced are gone.
            workers.retain(|w| w.actors.iter().all(|a| a.connected()));
            workers.push(WorkerRoutes { actors, stats });
        }
    }

    /// Each of `routes` routes' statistics, merged across the workers, indexed like the
    /// runtime's routes. Still readable once the workers have stopped, for a last export.
    pub fn merged_stats(&self, routes: usize) -> Vec<RouteStats> {
        let mut merged = vec![RouteStats::default(); routes];
        let Ok(workers) = self.workers.lock() else {
            return merged;
        };
        for worker in workers.iter() {
            for (total, stats) in merged.iter_mut().zip(&worker.stats) {
                if let Ok(stats) = stats.lock() {
                    total.merge(&stats);
                }
            }
        }
        merged
    }
}

pub fn bind_proxy(
    runtime: Arc<Runtime>,
    directory: Arc<ActorDirectory>,
    telemetry: Arc<Telemetry>,
    listen: SocketAddr,
    workers: usize,
    upstream_keepalive: Duration,
) -> std::io::Result<(actix_web::dev::Server, Vec<SocketAddr>)> {
    let server = HttpServer::new(move || {
        let stats: Vec<SharedStats> = runtime
            .routes
            .iter()
            .map(|_| SharedStats::default())
            .collect();
        let actors: Vec<Addr<RouteActor>> = runtime
            .routes
            .iter()
            .zip(&stats)
            .map(|(route, stats)| RouteActor::new(route.clone(), stats.clone()).start())
            .collect();
        directory.register(actors.clone(), stats);
        let clients = runtime
            .services
            .iter()
            .map(|service| crate::upstream::client_for(service, upstream_keepalive))
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
