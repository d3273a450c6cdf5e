//! The SERVER span of a client request, written as OTLP protobuf while the request runs and
//! handed to the export queue when it ends.
//!
//! Why not the SDK's span object, as the CLIENT spans of retried attempts are: a request's
//! SERVER span is made for every request, and through the SDK each attribute became a `KeyValue`
//! (its string copied into an allocation), the list was moved into the `SpanData` the SDK hands
//! over at the end, written as protobuf from there and then dropped. Writing each attribute
//! straight into the span's protobuf buffer does the same work once. The decisions the SDK
//! makes when it starts a span (ids, the sampler, the trace flags and state) are made here the
//! same way, with the configured sampler and the SDK's id generator.

use std::borrow::Cow;
use std::time::SystemTime;

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{
    IdGenerator, RandomIdGenerator, Sampler, SamplingDecision, ShouldSample,
};

pub use super::otlp_encode::Scalar;
use super::otlp_encode::{
    attribute, attributes, bytes_field, fixed64_field, key_values, message, span_fields,
    strings_attribute, unix_nanos, SpanHead,
};
use super::span_queue::SpanQueue;

/// The `Span.attributes` entries of `route_attributes`, written once (a route's, when the
/// configuration loads) and copied into each of its SERVER spans.
pub fn encode_attributes(route_attributes: &[KeyValue]) -> Vec<u8> {
    let mut out = Vec::new();
    attributes(&mut out, 9, key_values(route_attributes));
    out
}

/// Room for a SERVER span's attributes, so that setting them rarely grows the buffer.
const ATTRIBUTES_CAPACITY: usize = 768;

pub struct ServerSpan {
    context: SpanContext,
    parent_span_id: SpanId,
    parent_is_remote: bool,
    recording: bool,
    name: Cow<'static, str>,
    start: SystemTime,
    /// `Span.attributes` entries, written.
    attributes: Vec<u8>,
    /// `Span.events` entries, written.
    events: Vec<u8>,
}

impl ServerSpan {
    /// Starts a span named `name`, child of `parent`'s span when it has a valid one, sampled by
    /// `sampler` as the SDK's tracer does it, with `route_attributes` (from [`encode_attributes`])
    /// first. The sampler is shown no attributes: the ones a gateway can be configured with
    /// (`always_on`, `always_off`, `traceidratio` and their parent-based forms) read none.
    pub fn start(
        parent: &Context,
        sampler: &Sampler,
        ids: &RandomIdGenerator,
        name: &'static str,
        route_attributes: &[u8],
    ) -> ServerSpan {
        let parent_span = parent.span();
        let parent_context = parent_span.span_context();
        let span_id = ids.new_span_id();
        let (trace_id, parent_span_id, parent_is_remote) = if parent_context.is_valid() {
            (
                parent_context.trace_id(),
                parent_context.span_id(),
                parent_context.is_remote(),
            )
        } else {
            (ids.new_trace_id(), SpanId::INVALID, false)
        };
        let sampling =
            sampler.should_sample(Some(parent), trace_id, name, &SpanKind::Server, &[], &[]);
        let (recording, flags) = match sampling.decision {
            SamplingDecision::RecordAndSample => {
                (true, parent_context.trace_flags().with_sampled(true))
            }
            SamplingDecision::RecordOnly => {
                (true, parent_context.trace_flags().with_sampled(false))
            }
            SamplingDecision::Drop => (false, TraceFlags::default()),
        };
        let mut span = ServerSpan {
            context: SpanContext::new(trace_id, span_id, flags, false, sampling.trace_state),
            parent_span_id,
            parent_is_remote,
            recording,
            name: Cow::Borrowed(name),
            start: SystemTime::now(),
            attributes: Vec::new(),
            events: Vec::new(),
        };
        if recording {
            span.attributes.reserve(ATTRIBUTES_CAPACITY);
            span.attributes.extend_from_slice(route_attributes);
            attributes(&mut span.attributes, 9, key_values(&sampling.attributes));
        }
        span
    }

    /// The span's context: what goes upstream, and the parent of attempt spans.
    pub fn context(&self) -> &SpanContext {
        &self.context
    }

    /// Whether the span is sampled: attributes are worth computing only for one that records.
    pub fn is_recording(&self) -> bool {
        self.recording
    }

    /// `{operation} {model}`, once the model is known.
    pub fn name_model(&mut self, model: &str) {
        let mut name = String::with_capacity(self.name.len() + 1 + model.len());
        name.push_str(&self.name);
        name.push(' ');
        name.push_str(model);
        self.name = Cow::Owned(name);
    }

    /// The span's name, which its attempt spans share.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn set(&mut self, key: &str, value: Scalar<'_>) {
        if self.recording {
            attribute(&mut self.attributes, 9, key, value);
        }
    }

    /// An attribute whose value is an array of strings.
    pub fn set_strings<'a>(&mut self, key: &str, items: impl IntoIterator<Item = &'a str>) {
        if self.recording {
            strings_attribute(&mut self.attributes, 9, key, items);
        }
    }

    /// An event named `name`, now, with one string attribute.
    pub fn add_event(&mut self, name: &str, key: &str, value: &str) {
        if self.recording {
            message(&mut self.events, 11, |out| {
                fixed64_field(out, 1, unix_nanos(SystemTime::now()));
                bytes_field(out, 2, name.as_bytes());
                attribute(out, 3, key, Scalar::Str(value));
            });
        }
    }

    /// Ends the span, as an error with `error` as its description when there is one, and puts
    /// it into `queue` under `scope`; a span that does not record is dropped.
    pub fn end(self, error: Option<&str>, scope: &InstrumentationScope, queue: &SpanQueue) {
        if !self.recording {
            return;
        }
        let status = match error {
            Some(description) => Status::error(description.to_string()),
            None => Status::Unset,
        };
        let head = SpanHead {
            context: &self.context,
            parent_span_id: self.parent_span_id,
            parent_is_remote: self.parent_is_remote,
            name: &self.name,
            kind: &SpanKind::Server,
            start: self.start,
            end: SystemTime::now(),
            status: &status,
        };
        queue.push(scope, |out| {
            span_fields(out, &head, |out| {
                out.extend_from_slice(&self.attributes);
                out.extend_from_slice(&self.events);
            });
        });
    }
}
