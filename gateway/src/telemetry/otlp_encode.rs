//! Spans to OTLP protobuf bytes: each span written as a `ScopeSpans.spans` entry when it ends
//! ([`span_entry`]), runs of entries wrapped into one `ExportTraceServiceRequest`; and the
//! protobuf writing the metric export shares.
//!
//! Why not `opentelemetry-proto`'s conversion and prost: it first builds the whole request as
//! owned proto structs (a `String` per attribute key and value, a `Vec` per list) and only then
//! encodes them. On the gateway that conversion was most of the export thread's CPU, about 3 µs
//! per span; writing the wire format directly needs no allocation beyond the output. The unit
//! tests decode what this writes with the generated proto types and compare it with the
//! library's own conversion of the same spans.

use std::time::SystemTime;

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status};
use opentelemetry::{Array, InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;
use opentelemetry_sdk::Resource;

/// `SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK` and `..._IS_REMOTE_MASK` from trace.proto.
const HAS_IS_REMOTE: u32 = 0x100;
const IS_REMOTE: u32 = 0x200;

const VARINT: u32 = 0;
const FIXED64: u32 = 1;
pub(super) const LEN: u32 = 2;
const FIXED32: u32 = 5;

pub(super) fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

pub(super) fn tag(out: &mut Vec<u8>, field: u32, wire: u32) {
    varint(out, u64::from(field << 3 | wire));
}

pub(super) fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    tag(out, field, LEN);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

pub(super) fn varint_field(out: &mut Vec<u8>, field: u32, value: u64) {
    tag(out, field, VARINT);
    varint(out, value);
}

pub(super) fn fixed64_field(out: &mut Vec<u8>, field: u32, value: u64) {
    tag(out, field, FIXED64);
    out.extend_from_slice(&value.to_le_bytes());
}

fn fixed32_field(out: &mut Vec<u8>, field: u32, value: u32) {
    tag(out, field, FIXED32);
    out.extend_from_slice(&value.to_le_bytes());
}

/// A length-delimited message written by `body`. Its length is only known afterwards: one byte
/// is kept for it, enough for most messages here (an attribute, a value); a longer one moves its
/// body to make room.
pub(super) fn message(out: &mut Vec<u8>, field: u32, body: impl FnOnce(&mut Vec<u8>)) {
    message_with_room(out, field, 1, body);
}

/// A length-delimited message with `room` bytes kept for its length, for a message whose usual
/// size needs that many (a span: two); the body moves only when its length needs another number.
fn message_with_room(out: &mut Vec<u8>, field: u32, room: usize, body: impl FnOnce(&mut Vec<u8>)) {
    tag(out, field, LEN);
    let at = out.len();
    out.resize(at + room, 0);
    body(out);
    let length = out.len() - at - room;
    let mut prefix = [0u8; 10];
    let mut used = 0;
    let mut rest = length as u64;
    for slot in prefix.iter_mut() {
        used += 1;
        if rest < 0x80 {
            *slot = rest as u8;
            break;
        }
        *slot = (rest as u8) | 0x80;
        rest >>= 7;
    }
    let body_start = at + room;
    if used < room {
        out.copy_within(body_start.., at + used);
        out.truncate(out.len() - (room - used));
    } else if used > room {
        let end = out.len();
        out.resize(end + (used - room), 0);
        out.copy_within(body_start..end, at + used);
    }
    out[at..at + used].copy_from_slice(&prefix[..used]);
}

pub(super) fn unix_nanos(time: std::time::SystemTime) -> u64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A single attribute value, borrowed: written without building an SDK `Value`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar<'a> {
    Str(&'a str),
    Bool(bool),
    Int(i64),
    Float(f64),
}

/// `AnyValue` (common.proto) of a single value.
fn scalar_value(out: &mut Vec<u8>, value: Scalar<'_>) {
    match value {
        Scalar::Str(s) => bytes_field(out, 1, s.as_bytes()),
        Scalar::Bool(b) => varint_field(out, 2, u64::from(b)),
        Scalar::Int(i) => varint_field(out, 3, i as u64),
        Scalar::Float(f) => fixed64_field(out, 4, f.to_bits()),
    }
}

/// The bytes `scalar_value` writes.
fn scalar_value_len(value: Scalar<'_>) -> usize {
    match value {
        Scalar::Str(s) => field_len(s.len()),
        Scalar::Bool(_) => 2,
        Scalar::Int(i) => 1 + varint_len(i as u64 as usize),
        Scalar::Float(_) => 9,
    }
}

/// One `KeyValue` entry as field `field` (below 16, as every attribute field of OTLP's messages
/// is: its tag is one byte). Its lengths are known beforehand, so it is written in one reserved
/// run instead of through `message`'s placeholder (a dozen of these go into every span).
pub(super) fn attribute(out: &mut Vec<u8>, field: u32, key: &str, value: Scalar<'_>) {
    let any_value = scalar_value_len(value);
    let key_value = field_len(key.len()) + field_len(any_value);
    out.reserve(field_len(key_value));
    tag(out, field, LEN);
    varint(out, key_value as u64);
    bytes_field(out, 1, key.as_bytes());
    tag(out, 2, LEN);
    varint(out, any_value as u64);
    scalar_value(out, value);
}

/// One `KeyValue` entry whose value is an array of strings, as field `field`.
pub(super) fn strings_attribute<'a>(
    out: &mut Vec<u8>,
    field: u32,
    key: &str,
    items: impl IntoIterator<Item = &'a str>,
) {
    message(out, field, |out| {
        bytes_field(out, 1, key.as_bytes());
        message(out, 2, |out| {
            message(out, 5, |out| {
                for item in items {
                    message(out, 1, |out| bytes_field(out, 1, item.as_bytes()));
                }
            });
        });
    });
}

/// `AnyValue` (common.proto).
fn any_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::String(s) => scalar_value(out, Scalar::Str(s.as_str())),
        Value::Bool(b) => scalar_value(out, Scalar::Bool(*b)),
        Value::I64(i) => scalar_value(out, Scalar::Int(*i)),
        Value::F64(f) => scalar_value(out, Scalar::Float(*f)),
        Value::Array(array) => message(out, 5, |out| match array {
            Array::Bool(items) => {
                for b in items {
                    message(out, 1, |out| varint_field(out, 2, u64::from(*b)));
                }
            }
            Array::I64(items) => {
                for i in items {
                    message(out, 1, |out| varint_field(out, 3, *i as u64));
                }
            }
            Array::F64(items) => {
                for f in items {
                    message(out, 1, |out| fixed64_field(out, 4, f.to_bits()));
                }
            }
            Array::String(items) => {
                for s in items {
                    message(out, 1, |out| bytes_field(out, 1, s.as_str().as_bytes()));
                }
            }
            other => message(out, 1, |out| {
                bytes_field(out, 1, other.to_string().as_bytes());
            }),
        }),
        other => bytes_field(out, 1, other.to_string().as_bytes()),
    }
}

/// `KeyValue` entries as repeated field `field`.
pub(super) fn attributes<'a>(
    out: &mut Vec<u8>,
    field: u32,
    pairs: impl IntoIterator<Item = (&'a str, &'a Value)>,
) {
    for (key, value) in pairs {
        message(out, field, |out| {
            bytes_field(out, 1, key.as_bytes());
            message(out, 2, |out| any_value(out, value));
        });
    }
}

pub(super) fn key_values(kvs: &[KeyValue]) -> impl Iterator<Item = (&str, &Value)> {
    kvs.iter().map(|kv| (kv.key.as_str(), &kv.value))
}

/// The `Resource` message (resource.proto) of `resource`, written once per exporter.
pub fn resource(resource: &Resource) -> Vec<u8> {
    let mut out = Vec::new();
    attributes(
        &mut out,
        1,
        resource.iter().map(|(key, value)| (key.as_str(), value)),
    );
    out
}

fn span_kind(kind: &SpanKind) -> u64 {
    match kind {
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

/// What a `Span` message says besides its attributes, events and links.
pub(super) struct SpanHead<'a> {
    pub context: &'a SpanContext,
    pub parent_span_id: SpanId,
    pub parent_is_remote: bool,
    pub name: &'a str,
    pub kind: &'a SpanKind,
    pub start: SystemTime,
    pub end: SystemTime,
    pub status: &'a Status,
}

/// A `Span` message's fields: `head`'s, and fields 9 to 14 (attributes, events, links) written by
/// `lists`.
pub(super) fn span_fields(
    out: &mut Vec<u8>,
    head: &SpanHead<'_>,
    lists: impl FnOnce(&mut Vec<u8>),
) {
    let context = head.context;
    bytes_field(out, 1, &context.trace_id().to_bytes());
    bytes_field(out, 2, &context.span_id().to_bytes());
    let trace_state = context.trace_state().header();
    if !trace_state.is_empty() {
        bytes_field(out, 3, trace_state.as_bytes());
    }
    if head.parent_span_id != SpanId::INVALID {
        bytes_field(out, 4, &head.parent_span_id.to_bytes());
    }
    bytes_field(out, 5, head.name.as_bytes());
    varint_field(out, 6, span_kind(head.kind));
    fixed64_field(out, 7, unix_nanos(head.start));
    fixed64_field(out, 8, unix_nanos(head.end));
    lists(out);
    match head.status {
        Status::Unset => message(out, 15, |_| {}),
        Status::Ok => message(out, 15, |out| varint_field(out, 3, 1)),
        Status::Error { description } => message(out, 15, |out| {
            if !description.is_empty() {
                bytes_field(out, 2, description.as_bytes());
            }
            varint_field(out, 3, 2);
        }),
    }
    fixed32_field(out, 16, flags(head.parent_is_remote, context.trace_flags()));
}

/// The `Span` message's fields of an SDK span.
pub(super) fn sdk_span(out: &mut Vec<u8>, span: &SpanData) {
    let head = SpanHead {
        context: &span.span_context,
        parent_span_id: span.parent_span_id,
        parent_is_remote: span.parent_span_is_remote,
        name: &span.name,
        kind: &span.span_kind,
        start: span.start_time,
        end: span.end_time,
        status: &span.status,
    };
    span_fields(out, &head, |out| {
        attributes(out, 9, key_values(&span.attributes));
        if span.dropped_attributes_count > 0 {
            varint_field(out, 10, u64::from(span.dropped_attributes_count));
        }
        for event in span.events.iter() {
            message(out, 11, |out| {
                fixed64_field(out, 1, unix_nanos(event.timestamp));
                bytes_field(out, 2, event.name.as_bytes());
                attributes(out, 3, key_values(&event.attributes));
                if event.dropped_attributes_count > 0 {
                    varint_field(out, 4, u64::from(event.dropped_attributes_count));
                }
            });
        }
        if span.events.dropped_count > 0 {
            varint_field(out, 12, u64::from(span.events.dropped_count));
        }
        for link in span.links.iter() {
            message(out, 13, |out| {
                let linked = &link.span_context;
                bytes_field(out, 1, &linked.trace_id().to_bytes());
                bytes_field(out, 2, &linked.span_id().to_bytes());
                let state = linked.trace_state().header();
                if !state.is_empty() {
                    bytes_field(out, 3, state.as_bytes());
                }
                attributes(out, 4, key_values(&link.attributes));
                if link.dropped_attributes_count > 0 {
                    varint_field(out, 5, u64::from(link.dropped_attributes_count));
                }
                fixed32_field(out, 6, flags(linked.is_remote(), linked.trace_flags()));
            });
        }
        if span.links.dropped_count > 0 {
            varint_field(out, 14, u64::from(span.links.dropped_count));
        }
    });
}

fn flags(remote: bool, trace_flags: opentelemetry::trace::TraceFlags) -> u32 {
    let mut flags = u32::from(trace_flags.to_u8()) | HAS_IS_REMOTE;
    if remote {
        flags |= IS_REMOTE;
    }
    flags
}

/// Room kept for the length of a span's entry: spans with the gateway's attributes are 128 bytes
/// to 16 KiB long, whose lengths take two bytes.
const SPAN_LENGTH_ROOM: usize = 2;

/// One span as a `ScopeSpans.spans` entry (the field's tag, the span's length, then the `Span`
/// message whose fields `body` writes), appended to `out`.
pub(super) fn span_entry(out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    message_with_room(out, 2, SPAN_LENGTH_ROOM, body);
}

/// The entries of `entries` (as [`span_entry`] writes them) one at a time, each as its span's
/// bytes and the entry's whole length; stops at the first that is not one.
pub(super) fn entries(entries: &[u8]) -> impl Iterator<Item = (&[u8], usize)> {
    let mut rest = entries;
    std::iter::from_fn(move || {
        let (&first, after_tag) = rest.split_first()?;
        if u32::from(first) != (2 << 3 | LEN) {
            return None;
        }
        let mut length = 0usize;
        let mut read = 0;
        for (i, byte) in after_tag.iter().take(10).enumerate() {
            length |= usize::from(byte & 0x7f) << (7 * i);
            read = i + 1;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let body = after_tag.get(read..read + length)?;
        let whole = 1 + read + length;
        rest = rest.get(whole..)?;
        Some((body, whole))
    })
}

fn varint_len(value: usize) -> usize {
    let bits = usize::BITS - (value | 1).leading_zeros();
    bits.div_ceil(7) as usize
}

/// The size of a length-delimited field of a one-byte tag and `length` bytes of body.
fn field_len(length: usize) -> usize {
    1 + varint_len(length) + length
}

/// The spans of one instrumentation scope in a batch: a `ScopeSpans` message.
struct ScopeGroup<'a> {
    scope: &'a InstrumentationScope,
    /// The `scope` field, written.
    head: Vec<u8>,
    /// Runs of span entries, as [`span_entry`] writes them.
    runs: Vec<&'a [u8]>,
}

impl<'a> ScopeGroup<'a> {
    fn new(scope: &'a InstrumentationScope) -> ScopeGroup<'a> {
        let mut head = Vec::new();
        message(&mut head, 1, |out| {
            bytes_field(out, 1, scope.name().as_bytes());
            if let Some(version) = scope.version() {
                bytes_field(out, 2, version.as_bytes());
            }
            attributes(
                out,
                3,
                scope.attributes().map(|kv| (kv.key.as_str(), &kv.value)),
            );
        });
        ScopeGroup {
            scope,
            head,
            runs: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.head.len()
            + self.runs.iter().map(|run| run.len()).sum::<usize>()
            + self.scope.schema_url().map_or(0, |s| field_len(s.len()))
    }

    fn write(&self, out: &mut Vec<u8>) {
        tag(out, 2, LEN);
        varint(out, self.len() as u64);
        out.extend_from_slice(&self.head);
        for run in &self.runs {
            out.extend_from_slice(run);
        }
        if let Some(schema) = self.scope.schema_url() {
            bytes_field(out, 3, schema.as_bytes());
        }
    }
}

/// The `ExportTraceServiceRequest` of `runs` (each a scope and span entries of it, as
/// [`span_entry`] writes them), with `resource` (from [`resource`]), into `out`. The runs of a
/// scope are gathered into one `ScopeSpans`, scopes in the order each first appears. The lengths
/// of the outer messages are worked out first, so the spans are copied once.
pub fn export_request(out: &mut Vec<u8>, resource: &[u8], runs: &[(&InstrumentationScope, &[u8])]) {
    let mut groups: Vec<ScopeGroup> = Vec::new();
    for &(scope, run) in runs {
        let index = match groups.iter().position(|g| g.scope == scope) {
            Some(index) => index,
            None => {
                groups.push(ScopeGroup::new(scope));
                groups.len() - 1
            }
        };
        if let Some(group) = groups.get_mut(index) {
            group.runs.push(run);
        }
    }
    let resource_spans_len =
        field_len(resource.len()) + groups.iter().map(|g| field_len(g.len())).sum::<usize>();
    out.reserve(field_len(resource_spans_len));
    tag(out, 1, LEN);
    varint(out, resource_spans_len as u64);
    bytes_field(out, 1, resource);
    for group in &groups {
        group.write(out);
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::time::{Duration, UNIX_EPOCH};

    use opentelemetry::trace::{Event, Link, SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    use opentelemetry::{InstrumentationScope, StringValue};
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
    use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use prost::Message;

    use super::*;

    fn context(trace: u128, span: u64, remote: bool, state: &str) -> SpanContext {
        SpanContext::new(
            TraceId::from(trace),
            SpanId::from(span),
            TraceFlags::SAMPLED,
            remote,
            TraceState::from_key_value(
                state
                    .split(',')
                    .filter_map(|kv| kv.split_once('='))
                    .collect::<Vec<_>>(),
            )
            .unwrap(),
        )
    }

    fn at(ms: u64) -> std::time::SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_790_000_000_000 + ms)
    }

    /// Every kind of value, status, parent, event and link the SDK can hand over, from two
    /// instrumentation scopes, interleaved.
    fn spans() -> Vec<SpanData> {
        let gateway = InstrumentationScope::builder("ai-gateway").build();
        let other = InstrumentationScope::builder("other")
            .with_version("1.2.3")
            .with_schema_url("https://opentelemetry.io/schemas/1.26.0")
            .with_attributes([KeyValue::new("scope.attr", "x")])
            .build();
        let server = SpanData {
            span_context: context(
                0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736,
                0x00f0_67aa_0ba9_02b7,
                false,
                "vendor=v1,other=o2",
            ),
            parent_span_id: SpanId::from(0xb7ad_6b71_6920_3331),
            parent_span_is_remote: true,
            span_kind: SpanKind::Server,
            name: Cow::Owned("chat gpt-4o".to_string()),
            start_time: at(0),
            end_time: at(1234),
            attributes: vec![
                KeyValue::new("gen_ai.request.model", "gpt-4o"),
                KeyValue::new("gen_ai.usage.input_tokens", 25_i64),
                KeyValue::new("negative", -7_i64),
                KeyValue::new("ai_gateway.cost", 0.000_125),
                KeyValue::new("ai_gateway.usage.estimated", false),
                KeyValue::new(
                    "gen_ai.response.finish_reasons",
                    Value::Array(Array::String(vec![
                        StringValue::from("stop"),
                        StringValue::from("length"),
                    ])),
                ),
                KeyValue::new("ints", Value::Array(Array::I64(vec![1, -2, 300]))),
                KeyValue::new("floats", Value::Array(Array::F64(vec![0.5, -1.25]))),
                KeyValue::new("bools", Value::Array(Array::Bool(vec![true, false]))),
                KeyValue::new("unicode", "é ✓ \u{1F600}"),
            ],
            dropped_attributes_count: 2,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::error("the upstream answered 502"),
            instrumentation_scope: gateway.clone(),
        };
        let mut server = server;
        server.events.events.push(Event::new(
            "ai.proxy",
            at(1200),
            vec![KeyValue::new(
                "ai.proxy",
                r#"{"ai":{"proxy":{"usage":{"total_tokens":37}}}}"#,
            )],
            1,
        ));
        server.events.dropped_count = 3;
        server.links.links.push(Link::new(
            context(7, 8, true, "k=v"),
            vec![KeyValue::new("link.attr", 1_i64)],
            4,
        ));
        server.links.dropped_count = 5;
        let client = SpanData {
            span_context: context(1, 2, false, ""),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Client,
            name: Cow::Borrowed("chat"),
            start_time: at(5),
            end_time: at(6),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Ok,
            instrumentation_scope: other,
        };
        let mut internal = client.clone();
        internal.span_kind = SpanKind::Internal;
        internal.status = Status::Unset;
        internal.instrumentation_scope = gateway;
        let mut producer = client.clone();
        producer.span_kind = SpanKind::Producer;
        let mut consumer = server.clone();
        consumer.span_kind = SpanKind::Consumer;
        consumer.status = Status::error("");
        vec![server, client, internal, producer, consumer]
    }

    fn entry(span: &SpanData) -> Vec<u8> {
        let mut out = Vec::new();
        span_entry(&mut out, |out| sdk_span(out, span));
        out
    }

    fn runs(entries: &[(InstrumentationScope, Vec<u8>)]) -> Vec<(&InstrumentationScope, &[u8])> {
        entries
            .iter()
            .map(|(scope, run)| (scope, run.as_slice()))
            .collect()
    }

    #[test]
    fn the_request_decodes_to_what_the_reference_conversion_builds() {
        let resource = Resource::builder_empty()
            .with_attributes([
                KeyValue::new("service.name", "ai-gateway"),
                KeyValue::new("service.version", "0.1.0"),
                KeyValue::new("deployment.environment", "test"),
            ])
            .build();
        let mut ours = Vec::new();
        let entries: Vec<(InstrumentationScope, Vec<u8>)> = spans()
            .iter()
            .map(|span| (span.instrumentation_scope.clone(), entry(span)))
            .collect();
        export_request(&mut ours, &super::resource(&resource), &runs(&entries));
        let decoded = ExportTraceServiceRequest::decode(ours.as_slice()).unwrap();

        let reference = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(
                spans(),
                &ResourceAttributesWithSchema::from(&resource),
            ),
        };
        assert_eq!(decoded, reference);
        assert_eq!(decoded.resource_spans[0].scope_spans.len(), 2);
    }

    #[test]
    fn an_empty_batch_is_one_resource_without_spans() {
        let mut out = Vec::new();
        export_request(&mut out, &[], &[]);
        let decoded = ExportTraceServiceRequest::decode(out.as_slice()).unwrap();
        assert_eq!(decoded.resource_spans.len(), 1);
        assert!(decoded.resource_spans[0].scope_spans.is_empty());
    }

    #[test]
    fn batches_whose_lengths_cross_a_varint_byte_decode() {
        // Span bodies, and the messages around them, from just under to just over 127 and
        // 16,383 bytes, where a length takes one more byte.
        for size in (100..160).chain(16_300..16_400) {
            let mut span = spans().remove(2);
            span.attributes = vec![KeyValue::new("pad", "p".repeat(size))];
            let mut two = entry(&span);
            two.extend(entry(&span));
            let mut out = Vec::new();
            export_request(&mut out, b"", &[(&span.instrumentation_scope, &two)]);
            let bodies: Vec<_> = entries(&two).collect();
            assert_eq!(bodies.len(), 2, "padding {size}");
            assert_eq!(bodies[0].1 + bodies[1].1, two.len(), "padding {size}");
            let decoded = ExportTraceServiceRequest::decode(out.as_slice())
                .unwrap_or_else(|e| panic!("padding {size}: {e}"));
            let spans = &decoded.resource_spans[0].scope_spans[0].spans;
            assert_eq!(spans.len(), 2, "padding {size}");
            assert_eq!(spans[1].attributes[0].key, "pad");
        }
    }

    #[test]
    fn lengths_of_several_bytes_are_written_in_front_of_their_message() {
        let long = "x".repeat(70_000);
        let mut span = spans().remove(1);
        span.attributes = vec![KeyValue::new("long", long.clone())];
        let mut out = Vec::new();
        export_request(
            &mut out,
            &[],
            &[(&span.instrumentation_scope, &entry(&span))],
        );
        let decoded = ExportTraceServiceRequest::decode(out.as_slice()).unwrap();
        let attribute = &decoded.resource_spans[0].scope_spans[0].spans[0].attributes[0];
        assert_eq!(
            attribute.value.as_ref().and_then(|v| v.value.clone()),
            Some(opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(long))
        );
    }

    #[test]
    fn attributes_written_with_their_lengths_computed_decode_to_their_values() {
        use opentelemetry_proto::tonic::common::v1::{any_value::Value as Any, KeyValueList};

        let long_key = "k".repeat(200);
        let strings = [
            "",
            "gpt-4o",
            &"x".repeat(127),
            &"y".repeat(128),
            &"z".repeat(20_000),
        ];
        let mut cases: Vec<(&str, Scalar<'_>, Any)> = strings
            .iter()
            .map(|s| ("text", Scalar::Str(s), Any::StringValue(s.to_string())))
            .collect();
        for i in [0, 1, 127, 128, 16_384, -1, i64::MIN, i64::MAX] {
            cases.push(("number", Scalar::Int(i), Any::IntValue(i)));
        }
        for f in [0.0, -2.5, 0.000_125, f64::MAX] {
            cases.push(("float", Scalar::Float(f), Any::DoubleValue(f)));
        }
        for b in [true, false] {
            cases.push((&long_key, Scalar::Bool(b), Any::BoolValue(b)));
        }

        // KeyValueList's field 1 is `repeated KeyValue`: the list decodes only if every entry's
        // lengths are right.
        let mut out = Vec::new();
        for (key, value, _) in &cases {
            attribute(&mut out, 1, key, *value);
        }
        let decoded = KeyValueList::decode(out.as_slice()).unwrap();
        assert_eq!(decoded.values.len(), cases.len());
        for (entry, (key, _, expected)) in decoded.values.iter().zip(&cases) {
            assert_eq!(entry.key, *key);
            assert_eq!(
                entry.value.as_ref().and_then(|v| v.value.clone()),
                Some(expected.clone())
            );
        }
    }
}
