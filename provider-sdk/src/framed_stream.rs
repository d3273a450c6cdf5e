//! A [`StreamTranslate`] for translators that decode a framed upstream body event by event and
//! write OpenAI's stream with a [`ChatStreamWriter`].
//!
//! Such a translator only says what each event means ([`StreamEvents`]); [`FramedStream`] keeps
//! the rules every one of them must follow alike: nothing after the writer ended, a framing error
//! as the stream's error event, and a body that stops before the provider's last event reported
//! as an error rather than passed off as a complete answer.

use crate::abi::{ModuleError, ResponseMeta};
use crate::export::StreamTranslate;
use crate::framing::ndjson::NdjsonDecoder;
use crate::framing::{SseDecoder, SseEvent};
use crate::openai::ChatStreamWriter;

/// An incremental decoder that [`FramedStream`] can drive.
pub trait Framing: Send + 'static {
    /// One decoded event, borrowed from the decoder's buffer.
    type Event<'a>;

    fn push(
        &mut self,
        chunk: &[u8],
        on_event: impl FnMut(Self::Event<'_>),
    ) -> Result<(), ModuleError>;

    fn finish(&mut self, on_event: impl FnMut(Self::Event<'_>)) -> Result<(), ModuleError>;
}

impl Framing for SseDecoder {
    type Event<'a> = SseEvent<'a>;

    fn push(
        &mut self,
        chunk: &[u8],
        mut on_event: impl FnMut(SseEvent<'_>),
    ) -> Result<(), ModuleError> {
        SseDecoder::push(self, chunk, |event| {
            on_event(event);
            Ok(())
        })
    }

    fn finish(&mut self, mut on_event: impl FnMut(SseEvent<'_>)) -> Result<(), ModuleError> {
        SseDecoder::finish(self, |event| {
            on_event(event);
            Ok(())
        })
    }
}

impl Framing for NdjsonDecoder {
    type Event<'a> = &'a [u8];

    fn push(&mut self, chunk: &[u8], mut on_line: impl FnMut(&[u8])) -> Result<(), ModuleError> {
        NdjsonDecoder::push(self, chunk, |line| {
            on_line(line);
            Ok(())
        })
    }

    fn finish(&mut self, mut on_line: impl FnMut(&[u8])) -> Result<(), ModuleError> {
        NdjsonDecoder::finish(self, |line| {
            on_line(line);
            Ok(())
        })
    }
}

/// What one provider's events mean.
pub trait StreamEvents: Send + 'static {
    type Framing: Framing;

    /// Writes what one event says. Never fails: a bad event ends the stream with an error event.
    /// Not called once the writer has ended.
    fn event(
        &mut self,
        event: <Self::Framing as Framing>::Event<'_>,
        writer: &mut ChatStreamWriter,
        out: &mut Vec<u8>,
    );

    /// Whether the provider has said its last word, for providers whose end-of-stream marker is
    /// optional: the stream then ends cleanly when the body does.
    fn complete(&self) -> bool {
        false
    }

    /// The error message for a body that ended before the provider's last event.
    fn early_end(&self) -> String;
}

/// Translates one framed upstream stream with `E`.
#[derive(Debug)]
pub struct FramedStream<E: StreamEvents> {
    decoder: E::Framing,
    writer: ChatStreamWriter,
    events: E,
}

impl<E: StreamEvents> FramedStream<E> {
    pub fn new(decoder: E::Framing, writer: ChatStreamWriter, events: E) -> FramedStream<E> {
        FramedStream {
            decoder,
            writer,
            events,
        }
    }
}

impl<E: StreamEvents> StreamTranslate for FramedStream<E> {
    fn push(&mut self, chunk: &[u8]) -> Result<Vec<u8>, ModuleError> {
        let mut out = Vec::new();
        let FramedStream {
            decoder,
            writer,
            events,
        } = self;
        if writer.is_ended() {
            return Ok(out);
        }
        let decoded = decoder.push(chunk, |event| {
            if !writer.is_ended() {
                events.event(event, writer, &mut out);
            }
        });
        if let Err(error) = decoded {
            writer.error(&mut out, &error);
        }
        Ok(out)
    }

    fn finish(&mut self) -> Result<Vec<u8>, ModuleError> {
        let mut out = Vec::new();
        let FramedStream {
            decoder,
            writer,
            events,
        } = self;
        let decoded = decoder.finish(|event| {
            if !writer.is_ended() {
                events.event(event, writer, &mut out);
            }
        });
        if let Err(error) = decoded {
            writer.error(&mut out, &error);
        }
        if events.complete() {
            writer.end(&mut out);
        } else if !writer.is_ended() {
            writer.error(&mut out, &ModuleError::bad_upstream(events.early_end()));
        }
        Ok(out)
    }

    fn meta(&self) -> ResponseMeta {
        self.writer.meta()
    }
}
