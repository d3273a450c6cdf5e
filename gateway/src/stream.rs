//! The body of a streamed response: each upstream chunk goes through the module's stream
//! translator as it arrives and the translated bytes go to the client at once, so nothing is
//! buffered beyond a partial event. The route's statistics are recorded when the stream ends or
//! the client goes away, whichever comes first.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use abi_stable::std_types::RSlice;
use actix_rt::time::{sleep, Sleep};
use bytes::Bytes;
use futures_util::Stream;
use provider_sdk::abi::{ModuleError, ResponseMeta, StreamTranslatorBox};

use crate::accounting::Accounting;
use crate::errors::GatewayError;
use crate::stats::ErrorClass;

type UpstreamBody = Pin<Box<dyn Stream<Item = Result<Bytes, awc::error::PayloadError>>>>;

pub struct TranslatingStream {
    upstream: UpstreamBody,
    translator: StreamTranslatorBox,
    idle_timeout: Duration,
    idle: Pin<Box<Sleep>>,
    host: String,
    started: Instant,
    first_byte_at: Option<Instant>,
    error: Option<ErrorClass>,
    finished: bool,
    accounting: Option<Accounting>,
}

impl TranslatingStream {
    pub fn new(
        upstream: UpstreamBody,
        translator: StreamTranslatorBox,
        idle_timeout: Duration,
        host: String,
        started: Instant,
        accounting: Accounting,
    ) -> TranslatingStream {
        TranslatingStream {
            upstream,
            translator,
            idle_timeout,
            idle: Box::pin(sleep(idle_timeout)),
            host,
            started,
            first_byte_at: None,
            error: None,
            finished: false,
            accounting: Some(accounting),
        }
    }

    fn emit(&mut self, bytes: Vec<u8>) -> Option<Bytes> {
        if bytes.is_empty() {
            return None;
        }
        if self.first_byte_at.is_none() {
            self.first_byte_at = Some(Instant::now());
        }
        Some(Bytes::from(bytes))
    }

    /// Ends the stream with an SSE error event in OpenAI's envelope, after any bytes the
    /// translator still had.
    fn fail(&mut self, error: GatewayError) -> Option<Bytes> {
        self.error = Some(error.class);
        self.finished = true;
        let mut out = match self.translator.finish().into_result() {
            Ok(rest) => rest.into_vec(),
            Err(_) => Vec::new(),
        };
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&error.body());
        out.extend_from_slice(b"\n\n");
        self.emit(out)
    }

    fn module_failed(&mut self, e: ModuleError) -> Option<Bytes> {
        self.fail(GatewayError::from_module(e))
    }

    fn record(&mut self) {
        if let Some(accounting) = self.accounting.take() {
            let meta: ResponseMeta = self.translator.meta();
            let ttft = self.first_byte_at.map(|t| t.duration_since(self.started));
            accounting.finish(200, self.error, &meta, ttft);
        }
    }
}

// Every field that needs a fixed address (the upstream body, the timer) is boxed, so moving the
// stream itself is fine; the translator object is only `!Unpin` by abi_stable's conservative
// markers.
impl Unpin for TranslatingStream {}

impl Stream for TranslatingStream {
    type Item = Result<Bytes, actix_web::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.finished {
                this.record();
                return Poll::Ready(None);
            }
            match this.upstream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    let deadline = actix_rt::time::Instant::now() + this.idle_timeout;
                    this.idle.as_mut().reset(deadline);
                    let out = match this
                        .translator
                        .push(RSlice::from_slice(&chunk))
                        .into_result()
                    {
                        Ok(out) => this.emit(out.into_vec()),
                        Err(e) => this.module_failed(e),
                    };
                    if let Some(bytes) = out {
                        return Poll::Ready(Some(Ok(bytes)));
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    let error = crate::upstream::payload_error(e, &this.host);
                    if let Some(bytes) = this.fail(error) {
                        return Poll::Ready(Some(Ok(bytes)));
                    }
                }
                Poll::Ready(None) => {
                    this.finished = true;
                    let out = match this.translator.finish().into_result() {
                        Ok(out) => this.emit(out.into_vec()),
                        Err(e) => this.module_failed(e),
                    };
                    if let Some(bytes) = out {
                        return Poll::Ready(Some(Ok(bytes)));
                    }
                }
                Poll::Pending => {
                    if this.idle.as_mut().poll(cx).is_ready() {
                        let error = GatewayError::timeout(format!(
                            "upstream {} sent nothing for {} ms",
                            this.host,
                            this.idle_timeout.as_millis()
                        ));
                        if let Some(bytes) = this.fail(error) {
                            return Poll::Ready(Some(Ok(bytes)));
                        }
                        continue;
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl Drop for TranslatingStream {
    fn drop(&mut self) {
        self.record();
    }
}
