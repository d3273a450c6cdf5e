//! The OpenAI stream every non-OpenAI translator writes: `chat.completion.chunk` events (or
//! `text_completion` chunks on a completions route), framed as SSE.
//!
//! A translator decodes its provider's events and calls the writer in order: [`start`], then
//! [`text`], [`tool_call_start`] / [`tool_call_arguments`], [`refusal`] as deltas arrive, then
//! [`finish`] with the mapped reason, [`record_usage`] whenever the provider reports tokens, and
//! [`end`] once the provider's stream is over. The writer keeps what OpenAI's clients rely on:
//!
//! - the same `id`, `object`, `created` and `model` on every chunk;
//! - a first chunk with `role: assistant`;
//! - tool calls numbered 0, 1, 2… in `tool_calls[].index`, whatever the provider numbers its
//!   blocks; the first delta of a call carries `id`, `type`, `function.name` and `arguments: ""`,
//!   later ones only `index` and an `arguments` fragment;
//! - one finish chunk with a non-null `finish_reason`;
//! - the usage chunk (`choices: []`) only when the client asked for it
//!   (`stream_options.include_usage`), while [`meta`] always has the usage;
//! - `data: [DONE]` last, or after an error event nothing at all.
//!
//! Only one choice (`index` 0) is written: providers without OpenAI's API return one.
//!
//! [`start`]: ChatStreamWriter::start
//! [`text`]: ChatStreamWriter::text
//! [`tool_call_start`]: ChatStreamWriter::tool_call_start
//! [`tool_call_arguments`]: ChatStreamWriter::tool_call_arguments
//! [`refusal`]: ChatStreamWriter::refusal
//! [`finish`]: ChatStreamWriter::finish
//! [`record_usage`]: ChatStreamWriter::record_usage
//! [`end`]: ChatStreamWriter::end
//! [`meta`]: ChatStreamWriter::meta

use abi_stable::std_types::{ROption, RString, RVec};
use serde::Serialize;

use super::build::usage::UsageWire;
use super::identity::{new_response_id, unix_time_now};
use crate::abi::{ModuleError, RequestPlan, ResponseMeta, RouteType, Usage};
use crate::finish_reason::FinishReason;
use crate::framing::DONE_EVENT;

/// Which OpenAI object the chunks are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkObject {
    ChatCompletionChunk,
    TextCompletion,
}

impl ChunkObject {
    fn name(self) -> &'static str {
        match self {
            ChunkObject::ChatCompletionChunk => "chat.completion.chunk",
            ChunkObject::TextCompletion => "text_completion",
        }
    }
}

/// Writes one OpenAI stream. See the module documentation for the order of calls.
#[derive(Debug)]
pub struct ChatStreamWriter {
    object: ChunkObject,
    client_wants_usage: bool,
    id: String,
    created: u64,
    model: String,
    /// `{"id":…,"object":…,"created":…,"model":…,` once the first chunk fixed them.
    prefix: Option<Vec<u8>>,
    /// The provider's block of each tool call, in OpenAI index order.
    tool_blocks: Vec<u64>,
    finish_reason: Option<FinishReason>,
    usage: Usage,
    ended: bool,
}

impl ChatStreamWriter {
    /// A writer for `plan`'s route: text completion chunks on a completions route, chat chunks
    /// otherwise. Until [`identify`](Self::identify) says otherwise, the id is a fresh one, the
    /// model the plan's, and `created` now.
    pub fn new(plan: &RequestPlan<'_>) -> ChatStreamWriter {
        let object = if plan.route_type == RouteType::COMPLETIONS {
            ChunkObject::TextCompletion
        } else {
            ChunkObject::ChatCompletionChunk
        };
        let id_prefix = match object {
            ChunkObject::ChatCompletionChunk => "chatcmpl-",
            ChunkObject::TextCompletion => "cmpl-",
        };
        ChatStreamWriter {
            object,
            client_wants_usage: plan.client_wants_usage,
            id: new_response_id(id_prefix),
            created: unix_time_now(),
            model: plan.model.as_str().to_owned(),
            prefix: None,
            tool_blocks: Vec::new(),
            finish_reason: None,
            usage: Usage::default(),
            ended: false,
        }
    }

    /// Takes the provider's response id and model (an empty value keeps the current one). Only
    /// effective before the first chunk: every chunk of a stream has the same id and model.
    pub fn identify(&mut self, id: &str, model: &str) {
        if self.prefix.is_some() {
            return;
        }
        if !id.is_empty() {
            id.clone_into(&mut self.id);
        }
        if !model.is_empty() {
            model.clone_into(&mut self.model);
        }
    }

    /// Takes the provider's creation time (Unix seconds), before the first chunk.
    pub fn set_created(&mut self, created: u64) {
        if self.prefix.is_none() {
            self.created = created;
        }
    }

    /// Writes the first chunk (`delta: {role: "assistant", content: ""}`) unless it is written
    /// already. Every other delta calls this first, so a translator needs to call it only to
    /// open the stream before any content arrives.
    pub fn start(&mut self, out: &mut Vec<u8>) {
        if self.prefix.is_some() || self.ended {
            return;
        }
        let prefix = self.make_prefix();
        self.prefix = Some(prefix);
        if self.object == ChunkObject::ChatCompletionChunk {
            self.write_choice(
                out,
                &Delta {
                    role: Some("assistant"),
                    content: Some(""),
                    ..Delta::default()
                },
            );
        }
    }

    /// A piece of the reply's text. Empty pieces write nothing.
    pub fn text(&mut self, out: &mut Vec<u8>, delta: &str) {
        if delta.is_empty() || self.ended {
            return;
        }
        self.start(out);
        match self.object {
            ChunkObject::ChatCompletionChunk => self.write_content_choice(out, delta),
            ChunkObject::TextCompletion => self.write_text_choice(out, delta, None),
        }
    }

    /// A piece of a refusal (a provider's safety decline given as text).
    pub fn refusal(&mut self, out: &mut Vec<u8>, delta: &str) {
        if delta.is_empty() || self.ended || self.object == ChunkObject::TextCompletion {
            return;
        }
        self.start(out);
        self.write_choice(
            out,
            &Delta {
                refusal: Some(delta),
                ..Delta::default()
            },
        );
    }

    /// A tool call begins in the provider's block `block` (its content-block index, or any number
    /// that tells its calls apart).
    pub fn tool_call_start(&mut self, out: &mut Vec<u8>, block: u64, id: &str, name: &str) {
        if self.ended || self.object == ChunkObject::TextCompletion {
            return;
        }
        self.start(out);
        let index = self.tool_blocks.len();
        self.tool_blocks.push(block);
        self.write_choice(
            out,
            &Delta {
                tool_calls: Some([ToolCallDelta {
                    index,
                    id: Some(id),
                    kind: Some("function"),
                    function: FunctionDelta {
                        name: Some(name),
                        arguments: "",
                    },
                }]),
                ..Delta::default()
            },
        );
    }

    /// A fragment of the arguments of the call started in `block`. A block that started no call
    /// is an upstream error.
    pub fn tool_call_arguments(
        &mut self,
        out: &mut Vec<u8>,
        block: u64,
        fragment: &str,
    ) -> Result<(), ModuleError> {
        if self.ended {
            return Ok(());
        }
        let index = self
            .tool_blocks
            .iter()
            .rposition(|b| *b == block)
            .ok_or_else(|| {
                ModuleError::bad_upstream(format!(
                    "upstream sent tool call arguments for block {block}, which started no tool call"
                ))
            })?;
        if fragment.is_empty() {
            return Ok(());
        }
        self.write_choice(
            out,
            &Delta {
                tool_calls: Some([ToolCallDelta {
                    index,
                    id: None,
                    kind: None,
                    function: FunctionDelta {
                        name: None,
                        arguments: fragment,
                    },
                }]),
                ..Delta::default()
            },
        );
        Ok(())
    }

    /// A whole tool call at once, for providers that do not stream arguments: the usual start
    /// delta, then the arguments in one fragment.
    pub fn tool_call(&mut self, out: &mut Vec<u8>, id: &str, name: &str, arguments: &str) {
        let block = self
            .tool_blocks
            .iter()
            .max()
            .map_or(0, |b| b.saturating_add(1));
        self.tool_call_start(out, block, id, name);
        // The block was just started, so this cannot fail; a stream already ended writes nothing.
        let _ = self.tool_call_arguments(out, block, arguments);
    }

    /// The finish chunk with `reason`. Written once; later calls are ignored.
    pub fn finish(&mut self, out: &mut Vec<u8>, reason: FinishReason) {
        if self.finish_reason.is_some() || self.ended {
            return;
        }
        self.start(out);
        self.finish_reason = Some(reason);
        match self.object {
            ChunkObject::ChatCompletionChunk => {
                self.write_chunk(out, |json| {
                    write_json(
                        json,
                        &[ChoiceWire {
                            index: 0,
                            delta: &Delta::default(),
                            logprobs: None,
                            finish_reason: Some(reason.as_str()),
                        }],
                    )
                });
            }
            ChunkObject::TextCompletion => {
                self.write_text_choice(out, "", Some(reason.for_text_completion()))
            }
        }
    }

    /// Token counts the provider reported. Each count the provider reports replaces the earlier
    /// one; counts it leaves out keep their value (providers split usage across events).
    pub fn record_usage(&mut self, usage: Usage) {
        let merge = |slot: &mut ROption<u64>, new: ROption<u64>| {
            if new.is_some() {
                *slot = new;
            }
        };
        merge(&mut self.usage.prompt_tokens, usage.prompt_tokens);
        merge(&mut self.usage.completion_tokens, usage.completion_tokens);
        merge(&mut self.usage.total_tokens, usage.total_tokens);
        merge(&mut self.usage.cached_tokens, usage.cached_tokens);
    }

    /// Ends the stream: the usage chunk if the client asked for it, then `data: [DONE]`. Written
    /// once; nothing is written after an [`error`](Self::error).
    pub fn end(&mut self, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        self.start(out);
        if self.client_wants_usage {
            let usage = UsageWire::of(&self.usage);
            self.write_chunk(out, |json| {
                json.extend_from_slice(b"[],\"usage\":");
                write_json(json, &usage);
            });
        }
        out.extend_from_slice(DONE_EVENT);
        self.ended = true;
    }

    /// Ends the stream with an error event, `data: {"error":{…}}`, the shape OpenAI's SDKs raise
    /// from. Nothing is written after it, `[DONE]` included.
    pub fn error(&mut self, out: &mut Vec<u8>, error: &ModuleError) {
        if self.ended {
            return;
        }
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&error.to_envelope());
        out.extend_from_slice(b"\n\n");
        self.ended = true;
    }

    /// Whether [`end`](Self::end) or [`error`](Self::error) was written.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// What the stream said so far: usage whether or not the client gets the usage chunk.
    pub fn meta(&self) -> ResponseMeta {
        ResponseMeta {
            usage: self.usage,
            response_model: self.model.as_str().into(),
            response_id: self.id.as_str().into(),
            finish_reasons: self
                .finish_reason
                .iter()
                .map(|r| RString::from(r.as_str()))
                .collect::<RVec<_>>(),
        }
    }

    fn make_prefix(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Identity<'a> {
            id: &'a str,
            object: &'static str,
            created: u64,
            model: &'a str,
        }
        let mut prefix = Vec::with_capacity(self.id.len() + self.model.len() + 80);
        write_json(
            &mut prefix,
            &Identity {
                id: &self.id,
                object: self.object.name(),
                created: self.created,
                model: &self.model,
            },
        );
        // Reopens the object so that each chunk appends its `choices`.
        prefix.pop();
        prefix.extend_from_slice(b",\"choices\":");
        prefix
    }

    /// Writes `data: <prefix><rest>}\n\n`, `rest` being written by `body`.
    fn write_chunk(&mut self, out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
        if self.prefix.is_none() {
            self.prefix = Some(self.make_prefix());
        }
        let prefix = self.prefix.as_deref().unwrap_or_default();
        // Room for a choice with a short delta, so that a chunk is written without the buffer
        // growing two or three times on the way (measured: 10% of a translated chunk).
        out.reserve(prefix.len() + 160);
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(prefix);
        body(out);
        out.extend_from_slice(b"}\n\n");
    }

    fn write_choice(&mut self, out: &mut Vec<u8>, delta: &Delta<'_>) {
        self.write_chunk(out, |json| {
            write_json(
                json,
                &[ChoiceWire {
                    index: 0,
                    delta,
                    logprobs: None,
                    finish_reason: None,
                }],
            )
        });
    }

    /// What [`write_choice`](Self::write_choice) writes for a delta of only `content`, without
    /// going through the serializer field by field: most chunks of a stream are these.
    fn write_content_choice(&mut self, out: &mut Vec<u8>, content: &str) {
        self.write_chunk(out, |json| {
            json.extend_from_slice(br#"[{"index":0,"delta":{"content":"#);
            write_json(json, content);
            json.extend_from_slice(br#"},"logprobs":null,"finish_reason":null}]"#);
        });
    }

    fn write_text_choice(&mut self, out: &mut Vec<u8>, text: &str, finish: Option<FinishReason>) {
        self.write_chunk(out, |json| {
            write_json(
                json,
                &[TextChoiceWire {
                    text,
                    index: 0,
                    logprobs: None,
                    finish_reason: finish.map(FinishReason::as_str),
                }],
            )
        });
    }
}

/// Serializes our own wire structs, which cannot fail (string keys, no maps of other keys).
fn write_json(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    let _ = serde_json::to_writer(out, value);
}

#[derive(Serialize)]
struct ChoiceWire<'a> {
    index: usize,
    delta: &'a Delta<'a>,
    logprobs: Option<()>,
    finish_reason: Option<&'static str>,
}

#[derive(Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[ToolCallDelta<'a>; 1]>,
}

#[derive(Serialize)]
struct ToolCallDelta<'a> {
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    function: FunctionDelta<'a>,
}

#[derive(Serialize)]
struct FunctionDelta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    arguments: &'a str,
}

#[derive(Serialize)]
struct TextChoiceWire<'a> {
    text: &'a str,
    index: usize,
    logprobs: Option<()>,
    finish_reason: Option<&'static str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::ROption::{RNone, RSome};
    use abi_stable::std_types::{RSlice, RStr};
    use serde_json::{json, Value};

    fn plan(route_type: RouteType, client_wants_usage: bool) -> RequestPlan<'static> {
        RequestPlan {
            route_type,
            model: RStr::from_str("configured-model"),
            options: RStr::from_str("{}"),
            stream: true,
            client_wants_usage,
            client_method: RStr::from_str("POST"),
            client_path: RStr::from_str("/v1/chat/completions"),
            client_query: RStr::from_str(""),
            client_headers: RSlice::from_slice(&[]),
        }
    }

    fn writer(route_type: RouteType, client_wants_usage: bool) -> ChatStreamWriter {
        let mut writer = ChatStreamWriter::new(&plan(route_type, client_wants_usage));
        writer.identify("msg_1", "claude-x");
        writer.set_created(42);
        writer
    }

    #[test]
    fn a_content_delta_is_written_as_the_serializer_writes_it() {
        for text in [
            "",
            "two",
            "a \"quoted\" \\ line\n\t\u{1}",
            "wörld ✓ 😀\u{7f}",
        ] {
            let (mut fast, mut serialized) = (
                writer(RouteType::CHAT, false),
                writer(RouteType::CHAT, false),
            );
            let (mut fast_out, mut serialized_out) = (Vec::new(), Vec::new());
            fast.write_content_choice(&mut fast_out, text);
            serialized.write_choice(
                &mut serialized_out,
                &Delta {
                    content: Some(text),
                    ..Delta::default()
                },
            );
            assert_eq!(
                String::from_utf8(fast_out).unwrap(),
                String::from_utf8(serialized_out).unwrap()
            );
        }
    }

    /// The events of `out`: JSON values, or the literal `[DONE]` as a string.
    fn events(out: &[u8]) -> Vec<Value> {
        let text = std::str::from_utf8(out).unwrap();
        assert!(text.ends_with("\n\n"), "{text:?}");
        text.split_terminator("\n\n")
            .map(|event| {
                let data = event.strip_prefix("data: ").unwrap();
                assert!(!data.contains('\n'));
                serde_json::from_str(data).unwrap_or(Value::String(data.to_owned()))
            })
            .collect()
    }

    fn usage(prompt: u64, completion: u64) -> Usage {
        Usage {
            prompt_tokens: RSome(prompt),
            completion_tokens: RSome(completion),
            total_tokens: RNone,
            cached_tokens: RNone,
        }
    }

    #[test]
    fn a_text_stream_with_the_usage_chunk() {
        let mut writer = writer(RouteType::CHAT, true);
        let mut out = Vec::new();
        writer.start(&mut out);
        writer.text(&mut out, "Hel");
        writer.text(&mut out, "");
        writer.text(&mut out, "lo \"you\"\n");
        writer.record_usage(usage(10, 0));
        writer.finish(&mut out, FinishReason::Stop);
        writer.record_usage(Usage {
            completion_tokens: RSome(5),
            ..Usage::default()
        });
        writer.end(&mut out);
        let head = |choices: Value| {
            json!({"id": "msg_1", "object": "chat.completion.chunk", "created": 42,
                   "model": "claude-x", "choices": choices})
        };
        let choice = |delta: Value, finish: Value| json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]);
        let mut usage_chunk = head(json!([]));
        usage_chunk["usage"] =
            json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15});
        assert_eq!(
            events(&out),
            vec![
                head(choice(
                    json!({"role": "assistant", "content": ""}),
                    Value::Null
                )),
                head(choice(json!({"content": "Hel"}), Value::Null)),
                head(choice(json!({"content": "lo \"you\"\n"}), Value::Null)),
                head(choice(json!({}), json!("stop"))),
                usage_chunk,
                json!("[DONE]"),
            ]
        );
        assert_eq!(
            writer.meta(),
            ResponseMeta {
                usage: usage(10, 5),
                response_model: "claude-x".into(),
                response_id: "msg_1".into(),
                finish_reasons: vec![RString::from("stop")].into(),
            }
        );
    }

    #[test]
    fn usage_is_metered_but_not_sent_unless_asked() {
        let mut writer = writer(RouteType::CHAT, false);
        let mut out = Vec::new();
        writer.text(&mut out, "x");
        writer.finish(&mut out, FinishReason::Length);
        writer.record_usage(usage(3, 1));
        writer.end(&mut out);
        let events = events(&out);
        assert_eq!(events.len(), 4, "role, text, finish, [DONE]: {events:?}");
        assert!(events.iter().all(|e| e.get("usage").is_none()));
        assert_eq!(events[3], json!("[DONE]"));
        assert_eq!(writer.meta().usage, usage(3, 1));
    }

    #[test]
    fn tool_calls_are_indexed_from_zero_whatever_the_provider_blocks() {
        let mut writer = writer(RouteType::CHAT, false);
        let mut out = Vec::new();
        writer.text(&mut out, "Let me add.");
        writer.tool_call_start(&mut out, 1, "toolu_a", "add");
        writer.tool_call_arguments(&mut out, 1, "").unwrap();
        writer
            .tool_call_arguments(&mut out, 1, "{\"a\": 2,")
            .unwrap();
        writer.tool_call_start(&mut out, 3, "toolu_b", "multiply");
        writer
            .tool_call_arguments(&mut out, 1, " \"b\": 12}")
            .unwrap();
        writer.tool_call_arguments(&mut out, 3, "{}").unwrap();
        writer.finish(&mut out, FinishReason::ToolCalls);
        writer.end(&mut out);
        let deltas: Vec<Value> = events(&out)
            .iter()
            .filter_map(|e| e["choices"][0]["delta"].get("tool_calls").cloned())
            .collect();
        assert_eq!(
            deltas,
            vec![
                json!([{"index": 0, "id": "toolu_a", "type": "function", "function": {"name": "add", "arguments": ""}}]),
                json!([{"index": 0, "function": {"arguments": "{\"a\": 2,"}}]),
                json!([{"index": 1, "id": "toolu_b", "type": "function", "function": {"name": "multiply", "arguments": ""}}]),
                json!([{"index": 0, "function": {"arguments": " \"b\": 12}"}}]),
                json!([{"index": 1, "function": {"arguments": "{}"}}]),
            ]
        );
        assert_eq!(writer.meta().finish_reasons[0].as_str(), "tool_calls");
    }

    #[test]
    fn whole_tool_calls_get_the_next_index() {
        let mut writer = writer(RouteType::CHAT, false);
        let mut out = Vec::new();
        writer.tool_call(&mut out, "call_1", "add", r#"{"a":1}"#);
        writer.tool_call(&mut out, "call_2", "now", "{}");
        let calls: Vec<Value> = events(&out)
            .iter()
            .filter_map(|e| e["choices"][0]["delta"]["tool_calls"].get(0).cloned())
            .collect();
        assert_eq!(calls.len(), 4);
        assert_eq!(calls[0]["index"], 0);
        assert_eq!(
            calls[1],
            json!({"index": 0, "function": {"arguments": "{\"a\":1}"}})
        );
        assert_eq!(calls[2]["index"], 1);
        assert_eq!(calls[2]["id"], "call_2");
    }

    #[test]
    fn arguments_for_an_unknown_block_are_an_upstream_error() {
        let mut writer = writer(RouteType::CHAT, false);
        let error = writer
            .tool_call_arguments(&mut Vec::new(), 7, "{}")
            .unwrap_err();
        assert_eq!(error.status, 502);
    }

    #[test]
    fn an_error_ends_the_stream_without_done() {
        let mut writer = writer(RouteType::CHAT, true);
        let mut out = Vec::new();
        writer.text(&mut out, "partial");
        writer.error(
            &mut out,
            &ModuleError::new(529, "overloaded_error", "Overloaded"),
        );
        writer.text(&mut out, "more");
        writer.finish(&mut out, FinishReason::Stop);
        writer.end(&mut out);
        let events = events(&out);
        assert_eq!(events.len(), 3);
        assert_eq!(
            events[2],
            json!({"error": {"message": "Overloaded", "type": "overloaded_error", "param": null, "code": null}})
        );
        assert!(writer.is_ended());
    }

    #[test]
    fn identity_is_fixed_by_the_first_chunk() {
        let mut writer = ChatStreamWriter::new(&plan(RouteType::CHAT, false));
        let mut out = Vec::new();
        writer.identify("", "");
        writer.start(&mut out);
        writer.identify("late", "late-model");
        writer.set_created(1);
        writer.text(&mut out, "x");
        let events = events(&out);
        assert_eq!(events[0]["id"], events[1]["id"]);
        assert!(events[0]["id"].as_str().unwrap().starts_with("chatcmpl-"));
        assert_eq!(events[1]["model"], "configured-model");
        assert_eq!(events[0]["created"], events[1]["created"]);
        assert_ne!(events[1]["created"], 1);
    }

    #[test]
    fn text_completion_chunks() {
        let mut writer = writer(RouteType::COMPLETIONS, true);
        let mut out = Vec::new();
        writer.start(&mut out);
        writer.text(&mut out, "1 + 1");
        writer.tool_call_start(&mut out, 0, "c", "f");
        writer.refusal(&mut out, "no");
        writer.finish(&mut out, FinishReason::ToolCalls);
        writer.record_usage(usage(4, 2));
        writer.end(&mut out);
        let head = |choices: Value| {
            json!({"id": "msg_1", "object": "text_completion", "created": 42,
                   "model": "claude-x", "choices": choices})
        };
        let mut usage_chunk = head(json!([]));
        usage_chunk["usage"] =
            json!({"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6});
        assert_eq!(
            events(&out),
            vec![
                head(
                    json!([{"text": "1 + 1", "index": 0, "logprobs": null, "finish_reason": null}])
                ),
                head(json!([{"text": "", "index": 0, "logprobs": null, "finish_reason": "stop"}])),
                usage_chunk,
                json!("[DONE]"),
            ]
        );
    }

    #[test]
    fn an_empty_stream_still_opens_and_ends() {
        let mut writer = writer(RouteType::CHAT, false);
        let mut out = Vec::new();
        writer.end(&mut out);
        writer.end(&mut out);
        let events = events(&out);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(events[1], json!("[DONE]"));
    }

    #[test]
    fn refusals_are_their_own_delta() {
        let mut writer = writer(RouteType::CHAT, false);
        let mut out = Vec::new();
        writer.refusal(&mut out, "I can't help with that.");
        let events = events(&out);
        assert_eq!(
            events[1]["choices"][0]["delta"],
            json!({"refusal": "I can't help with that."})
        );
    }
}
