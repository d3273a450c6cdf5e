//! The body of a streamed response: each upstream chunk goes through the module's stream
//! translator as it arrives and the translated bytes go to the client at once, so nothing is
//! buffered beyond a partial event. The request is recorded ([`Exchange::finish`]: statistics,
//! span, analytics) when the stream ends or the client goes away, whichever comes first, so its
//! span covers the whole stream.
//!
//! Per chunk, besides the translation, the characters of generated text are counted in place
//! (for the estimate, used only if the provider reports no usage), and the bytes are copied
//! aside only when the route logs payloads, up to the log's limit.
//!
//! Chunks the upstream body has ready at once are gathered into one push (up to
//! [`MAX_GATHERED`]): an upstream that writes events back to back delivers many HTTP chunks in
//! one read, and each push costs a module call, an output buffer, a character count and an HTTP
//! chunk to the client. Gathering never waits for more than is already there, so the first token
//! is not delayed; it is what a plain proxy does with one read and one write.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::estimate::{text_chars, GENERATED_KEYS};
use crate::exchange::{Ending, Exchange, ResponseBody};
use crate::telemetry::analytics::MAX_LOGGED_BODY;

use abi_stable::std_types::RSlice;
use actix_rt::time::{sleep, Sleep};
use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use provider_sdk::abi::{ModuleError, ResponseMeta, StreamTranslatorBox};

use crate::errors::GatewayError;
use crate::stats::ErrorClass;

type UpstreamBody = Pin<Box<dyn Stream<Item = Result<Bytes, awc::error::PayloadError>>>>;
type UpstreamItem = Option<Result<Bytes, awc::error::PayloadError>>;

/// The most upstream bytes gathered into one push.
const MAX_GATHERED: usize = 64 * 1024;

pub struct TranslatingStream {
    upstream: UpstreamBody,
    translator: StreamTranslatorBox,
    idle_timeout: Duration,
    /// Fires `idle_timeout` after the last chunk, or earlier: a chunk only moves `last_chunk`,
    /// and the timer, when it fires, is moved on to `last_chunk + idle_timeout` if that is
    /// still ahead. Resetting the timer for every chunk cost a timer-wheel update per chunk.
    idle: Pin<Box<Sleep>>,
    last_chunk: actix_rt::time::Instant,
    /// What the upstream body yielded after the chunks gathered into the last push (its end or
    /// an error), handled on the next poll.
    held: Option<UpstreamItem>,
    host: String,
    first_byte_at: Option<Instant>,
    error: Option<ErrorClass>,
    /// Why the stream failed, for the span.
    message: Option<String>,
    finished: bool,
    generated_chars: u64,
    /// What the client received, when the route logs payloads.
    captured: Option<Vec<u8>>,
    captured_cut: bool,
    exchange: Exchange,
}

impl TranslatingStream {
    pub fn new(
        upstream: UpstreamBody,
        translator: StreamTranslatorBox,
        idle_timeout: Duration,
        host: String,
        exchange: Exchange,
    ) -> TranslatingStream {
        TranslatingStream {
            upstream,
            translator,
            idle_timeout,
            idle: Box::pin(sleep(idle_timeout)),
            last_chunk: actix_rt::time::Instant::now(),
            held: None,
            host,
            first_byte_at: None,
            error: None,
            message: None,
            finished: false,
            generated_chars: 0,
            captured: exchange.logs_payloads().then(Vec::new),
            captured_cut: false,
            exchange,
        }
    }

    /// `first` and whatever chunks the upstream body has ready now, up to [`MAX_GATHERED`]
    /// bytes. Anything but a chunk is held for the next poll.
    fn gather(&mut self, first: Bytes, cx: &mut Context<'_>) -> Bytes {
        let mut gathered: Option<BytesMut> = None;
        while gathered.as_ref().map_or(first.len(), BytesMut::len) < MAX_GATHERED {
            match self.upstream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    gathered
                        .get_or_insert_with(|| BytesMut::from(&first[..]))
                        .extend_from_slice(&chunk);
                }
                Poll::Ready(other) => {
                    self.held = Some(other);
                    break;
                }
                Poll::Pending => break,
            }
        }
        gathered.map_or(first, BytesMut::freeze)
    }

    fn emit(&mut self, bytes: Bytes) -> Option<Bytes> {
        if bytes.is_empty() {
            return None;
        }
        if self.first_byte_at.is_none() {
            self.first_byte_at = Some(Instant::now());
        }
        self.generated_chars += text_chars(&bytes, &GENERATED_KEYS);
        if let Some(captured) = &mut self.captured {
            let room = MAX_LOGGED_BODY.saturating_sub(captured.len());
            self.captured_cut |= bytes.len() > room;
            captured.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        Some(bytes)
    }

    /// Ends the stream with an SSE error event in OpenAI's envelope, after any bytes the
    /// translator still had.
    fn fail(&mut self, error: GatewayError) -> Option<Bytes> {
        self.error = Some(error.class);
        self.message = Some(error.message.clone());
        self.finished = true;
        let mut out = match self.translator.finish().into_result() {
            Ok(rest) => rest.into_vec(),
            Err(_) => Vec::new(),
        };
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&error.body());
        out.extend_from_slice(b"\n\n");
        self.emit(Bytes::from(out))
    }

    fn module_failed(&mut self, e: ModuleError) -> Option<Bytes> {
        self.fail(GatewayError::from_module(e))
    }

    /// Ends the request's record with the usage the translator collected from the provider's
    /// events, read once here at the end.
    fn record(&mut self) {
        if !self.exchange.is_open() {
            return;
        }
        let meta: ResponseMeta = self.translator.meta();
        self.exchange.finish(Ending {
            status: 200,
            error: self.error,
            message: self.message.as_deref(),
            meta: &meta,
            first_byte: self.first_byte_at,
            body: ResponseBody::Stream {
                generated_chars: self.generated_chars,
                sse: self.captured.as_deref(),
                cut: self.captured_cut,
            },
        });
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
            let next = match this.held.take() {
                Some(held) => Poll::Ready(held),
                None => this.upstream.as_mut().poll_next(cx),
            };
            match next {
                Poll::Ready(Some(Ok(chunk))) => {
                    this.last_chunk = actix_rt::time::Instant::now();
                    let chunk = this.gather(chunk, cx);
                    let out = match this
                        .translator
                        .push(RSlice::from_slice(&chunk))
                        .into_result()
                    {
                        Ok(out) => this.emit(Bytes::from_owner(out)),
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
                        Ok(out) => this.emit(Bytes::from_owner(out)),
                        Err(e) => this.module_failed(e),
                    };
                    if let Some(bytes) = out {
                        return Poll::Ready(Some(Ok(bytes)));
                    }
                }
                Poll::Pending => {
                    if this.idle.as_mut().poll(cx).is_ready() {
                        let deadline = this.last_chunk + this.idle_timeout;
                        if deadline > actix_rt::time::Instant::now() {
                            this.idle.as_mut().reset(deadline);
                            continue;
                        }
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
