//! Stopping the gateway exports what its last interval counted: with the export interval far
//! longer than the test, the only export is the one at shutdown.

use std::process::Command;
use std::time::{Duration, Instant};

use ai_gateway_tests::{
    collector::Collector,
    http,
    mock::{MockUpstream, Reply},
};

use super::{logged_chat_gateway, wait_for_point};
use crate::{chat_request, chat_response};

#[test]
fn the_last_metrics_are_exported_when_the_gateway_stops() {
    let collector = Collector::start();
    let upstream = MockUpstream::start();
    upstream.always(Reply::json(200, chat_response()));
    let mut gateway = logged_chat_gateway(&upstream, Some(&collector.endpoint()))
        .env("OTEL_METRIC_EXPORT_INTERVAL", "3600000")
        .start();
    for _ in 0..3 {
        let response = http::post(&gateway.url("/chat"))
            .json(&chat_request())
            .send();
        assert_eq!(response.status, 200, "{}", response.text());
    }
    // Longer than the harness's usual 500 ms interval, so that the hour set here is the one in
    // force.
    std::thread::sleep(Duration::from_millis(1200));
    assert!(
        collector.data_points().is_empty(),
        "nothing is exported before the interval or the stop"
    );

    let interrupted = Command::new("kill")
        .args(["-INT", &gateway.pid().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while gateway.is_running() {
        assert!(Instant::now() < deadline, "the gateway did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }

    let requests = wait_for_point(&collector, "ai_gateway.requests", |p| {
        p.attr("ai_gateway.route") == Some("route")
    });
    assert_eq!(requests.field("Value"), Some("3"));
}
