//! Sends the upstream request, again when an attempt fails before the upstream answered (see
//! [`crate::upstream::is_retryable`]), up to the service's `retries` (Kong's default is 5). Each
//! retried attempt is a CLIENT span whose context goes upstream as `traceparent` (see
//! [`crate::exchange::Attempt`]); the request is built and signed once, so every attempt sends
//! the same bytes.

use awc::{ClientResponse, FrozenClientRequest};
use bytes::Bytes;

use crate::errors::GatewayError;
use crate::exchange::Exchange;

/// The upstream's response to the first attempt it answered, or the last attempt's error.
pub async fn send(
    request: &FrozenClientRequest,
    body: &Bytes,
    retries: u32,
    host: &str,
    exchange: &mut Exchange,
) -> Result<ClientResponse, GatewayError> {
    let method = request.get_method().to_string();
    let mut n = 0;
    loop {
        let mut attempt = exchange.attempt(n, &method);
        let sent = match attempt.propagation.take() {
            Some(trace_context) => request.extra_headers(trace_context).send_body(body.clone()),
            None => request.send_body(body.clone()),
        };
        match sent.await {
            Ok(response) => {
                exchange.attempt_answered(attempt, response.status().as_u16());
                return Ok(response);
            }
            Err(e) => {
                let retrying = n < retries && crate::upstream::is_retryable(&e);
                let error = crate::upstream::send_error(e, host);
                exchange.attempt_failed(n, &method, attempt, &error, retrying);
                if !retrying {
                    return Err(error);
                }
                tracing::debug!("retrying upstream {host} after: {}", error.message);
                n += 1;
            }
        }
    }
}
