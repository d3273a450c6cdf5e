//! The route actor: one per route on each worker thread. It turns a request's facts into a
//! [`Plan`] and keeps the route's usage statistics for that worker, in total and per target. The
//! statistics sit behind a mutex that only this actor and the readers take: the admin API and the
//! OTLP metric export merge every worker's copy when they need it, so reading them costs the
//! request path nothing.
//!
//! Why per worker: a same-thread `send().await` costs well under a microsecond, while one actor
//! shared by all workers serialises every request through one thread and halved throughput when
//! measured (see DESIGN.md, "Data path").

use std::sync::{Arc, Mutex};

use actix::{Actor, Context, Handler, Message};
use actix_web::web;

use crate::errors::GatewayError;
use crate::plan::{make_plan, Plan, PlanInput};
use crate::runtime::RouteRuntime;
use crate::server::WorkerState;
use crate::stats::{Outcome, RouteStats};

/// One worker's statistics of one route.
pub type SharedStats = Arc<Mutex<RouteStats>>;

pub struct RouteActor {
    route: Arc<RouteRuntime>,
    stats: SharedStats,
}

impl RouteActor {
    pub fn new(route: Arc<RouteRuntime>, stats: SharedStats) -> RouteActor {
        RouteActor { route, stats }
    }
}

impl Actor for RouteActor {
    type Context = Context<Self>;
}

/// A worker's actor for one route, reached through the worker's state. Why not a clone of the
/// actor's `Addr`: cloning an actix address allocates two shared cells, and a request held one
/// until it ended.
pub struct RouteActorRef {
    worker: web::Data<WorkerState>,
    route: usize,
}

impl RouteActorRef {
    /// The actor of `worker` for its runtime's route number `route`.
    pub fn new(worker: web::Data<WorkerState>, route: usize) -> RouteActorRef {
        RouteActorRef { worker, route }
    }

    /// Records a finished request, without waiting.
    pub fn record(&self, outcome: Outcome) {
        if let Some(actor) = self.worker.actors.get(self.route) {
            actor.do_send(RecordOutcome(outcome));
        }
    }
}

/// Resolve the plan for one request on this route.
#[derive(Message)]
#[rtype(result = "Result<Plan, GatewayError>")]
pub struct MakePlan(pub PlanInput);

/// Record a finished request in the route's statistics.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RecordOutcome(pub Outcome);

impl Handler<MakePlan> for RouteActor {
    type Result = Result<Plan, GatewayError>;

    fn handle(&mut self, msg: MakePlan, _: &mut Context<Self>) -> Self::Result {
        match &self.route.ai {
            Some(ai) => make_plan(ai, msg.0),
            None => Err(GatewayError::internal("route has no ai-proxy plugin")),
        }
    }
}

impl Handler<RecordOutcome> for RouteActor {
    type Result = ();

    fn handle(&mut self, msg: RecordOutcome, _: &mut Context<Self>) {
        if let Ok(mut stats) = self.stats.lock() {
            stats.record(&msg.0);
        }
    }
}
