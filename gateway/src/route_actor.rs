//! The route actor: one per route on each worker thread. It turns a request's facts into a
//! [`Plan`] and keeps the route's usage statistics for that worker, in total and per target, and
//! records them into the OTLP metric instruments when metrics are exported. The admin API reads
//! every worker's instance and merges them.
//!
//! Why per worker: a same-thread `send().await` costs well under a microsecond, while one actor
//! shared by all workers serialises every request through one thread and halved throughput when
//! measured (see DESIGN.md, "Data path").

use std::sync::Arc;

use actix::{Actor, Context, Handler, Message, MessageResult};

use crate::errors::GatewayError;
use crate::plan::{make_plan, Plan, PlanInput};
use crate::runtime::RouteRuntime;
use crate::stats::{Outcome, RouteStats};
use crate::telemetry::metrics::{Instruments, RouteSeries};

pub struct RouteActor {
    route: Arc<RouteRuntime>,
    stats: RouteStats,
    /// Present when metrics are exported over OTLP.
    series: Option<RouteSeries>,
}

impl RouteActor {
    pub fn new(route: Arc<RouteRuntime>, instruments: Option<Instruments>) -> RouteActor {
        RouteActor {
            series: instruments.map(|i| RouteSeries::new(i, &route)),
            route,
            stats: RouteStats::default(),
        }
    }
}

impl Actor for RouteActor {
    type Context = Context<Self>;
}

/// Resolve the plan for one request on this route.
#[derive(Message)]
#[rtype(result = "Result<Plan, GatewayError>")]
pub struct MakePlan(pub PlanInput);

/// Record a finished request in the route's statistics.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RecordOutcome(pub Outcome);

/// A copy of this worker's statistics for the route.
#[derive(Message)]
#[rtype(result = "RouteStats")]
pub struct ReadStats;

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
        self.stats.record(&msg.0);
        if let Some(series) = &mut self.series {
            series.record(&msg.0);
        }
    }
}

impl Handler<ReadStats> for RouteActor {
    type Result = MessageResult<ReadStats>;

    fn handle(&mut self, _: ReadStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.stats.clone())
    }
}
