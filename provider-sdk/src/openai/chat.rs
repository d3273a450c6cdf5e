//! A client's chat completion request as translators read it: typed, and borrowed from the body
//! wherever the JSON allows.
//!
//! The fields a translator may map are typed. Every other field the client set is kept by name in
//! [`ChatRequest::other`], so that a translator can refuse what its provider cannot honour (see
//! [`super::unsupported`]) instead of dropping it silently.

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::chat_tools::{Tool, ToolCall, ToolChoice};
use super::fields::{optional_text, parse_body, IsSet, StopSequences, StreamOptions, Text};
use crate::abi::ModuleError;
use crate::images::{parse_image_url, ImageSource};
use crate::json_edit::ObjectKey;

/// `POST /v1/chat/completions`.
#[derive(Debug, Clone, Default)]
pub struct ChatRequest<'a> {
    pub model: Option<Cow<'a, str>>,
    pub messages: Vec<ChatMessage<'a>>,
    /// Empty when the client sent none.
    pub tools: Vec<Tool<'a>>,
    pub tool_choice: Option<ToolChoice<'a>>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// Not OpenAI's, but many clients send it for providers that have it.
    pub top_k: Option<u64>,
    pub max_tokens: Option<u64>,
    pub max_completion_tokens: Option<u64>,
    /// `stop` as a list, whether sent as one string or several; empty when not sent.
    pub stop: Vec<Cow<'a, str>>,
    pub seed: Option<i64>,
    pub response_format: Option<ResponseFormat<'a>>,
    pub stream: Option<bool>,
    pub stream_options: Option<StreamOptions>,
    pub n: Option<u64>,
    pub user: Option<Cow<'a, str>>,
    /// The names of every other top-level field the client set to something other than `null`.
    pub other: Vec<Cow<'a, str>>,
}

impl<'a> ChatRequest<'a> {
    /// Reads a chat body. A body the gateway's peek let through can still fail here on a field
    /// the peek does not look into; the 400 names it (`messages[1].content[0].type: …`).
    pub fn parse(body: &'a [u8]) -> Result<ChatRequest<'a>, ModuleError> {
        parse_body(body)
    }

    /// The output cap the client asked for: `max_completion_tokens`, else `max_tokens`.
    pub fn max_output_tokens(&self) -> Option<u64> {
        self.max_completion_tokens.or(self.max_tokens)
    }
}

/// One entry of `messages`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ChatMessage<'a> {
    pub role: Role,
    /// `None` when absent or `null` (an assistant message that only calls tools).
    #[serde(default, borrow)]
    pub content: Option<Content<'a>>,
    #[serde(default, borrow, deserialize_with = "optional_text")]
    pub name: Option<Cow<'a, str>>,
    /// An assistant message's calls; empty otherwise.
    #[serde(default, borrow, deserialize_with = "tool_calls")]
    pub tool_calls: Vec<ToolCall<'a>>,
    /// A `tool` message: the call it answers.
    #[serde(default, borrow, deserialize_with = "optional_text")]
    pub tool_call_id: Option<Cow<'a, str>>,
}

fn tool_calls<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<ToolCall<'a>>, D::Error> {
    Option::<Vec<ToolCall<'a>>>::deserialize(deserializer).map(Option::unwrap_or_default)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    /// The newer name for `system` on reasoning models; translators treat it as `system`.
    Developer,
    User,
    Assistant,
    Tool,
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Text(role) = Text::deserialize(deserializer)?;
        match role.as_ref() {
            "system" => Ok(Role::System),
            "developer" => Ok(Role::Developer),
            "user" => Ok(Role::User),
            "assistant" => Ok(Role::Assistant),
            "tool" => Ok(Role::Tool),
            "function" => Err(D::Error::custom(
                "the legacy `function` role is not supported: send tool results as `tool` messages",
            )),
            other => Err(D::Error::unknown_variant(
                other,
                &["system", "developer", "user", "assistant", "tool"],
            )),
        }
    }
}

/// A message's `content`: one string, or a list of parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content<'a> {
    Text(Cow<'a, str>),
    Parts(Vec<ContentPart<'a>>),
}

impl<'a> Content<'a> {
    /// The text of the content: the string, or the text parts joined by newlines. Other parts are
    /// left out.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Content::Text(text) => Cow::Borrowed(text.as_ref()),
            Content::Parts(parts) => {
                let mut texts = parts.iter().filter_map(|part| match part {
                    ContentPart::Text(text) => Some(text.as_ref()),
                    _ => None,
                });
                match (texts.next(), texts.next()) {
                    (None, _) => Cow::Borrowed(""),
                    (Some(only), None) => Cow::Borrowed(only),
                    (Some(first), Some(second)) => {
                        let mut joined = format!("{first}\n{second}");
                        for text in texts {
                            joined.push('\n');
                            joined.push_str(text);
                        }
                        Cow::Owned(joined)
                    }
                }
            }
        }
    }

    /// [`text`](Self::text) for a provider that takes only text: any other part is a 400.
    pub fn text_only(&self, provider: &str) -> Result<Cow<'_, str>, ModuleError> {
        if let Content::Parts(parts) = self {
            if let Some(part) = parts.iter().find(|p| !matches!(p, ContentPart::Text(_))) {
                return Err(part.unsupported(provider));
            }
        }
        Ok(self.text())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Content<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ContentVisitor(std::marker::PhantomData))
    }
}

struct ContentVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ContentVisitor<'a> {
    type Value = Content<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string or an array of content parts")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Content::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Content::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut parts = Vec::with_capacity(seq.size_hint().unwrap_or(2));
        while let Some(part) = seq.next_element()? {
            parts.push(part);
        }
        Ok(Content::Parts(parts))
    }
}

/// One part of a content list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentPart<'a> {
    Text(Cow<'a, str>),
    Image(ImageUrl<'a>),
    /// A part of another type (`input_audio`, `file`, …), by its type name. No provider module
    /// translates these yet; [`ContentPart::unsupported`] is the 400 to answer with.
    Other(Cow<'a, str>),
}

impl ContentPart<'_> {
    /// The 400 for a part `provider` cannot take.
    pub fn unsupported(&self, provider: &str) -> ModuleError {
        let kind = match self {
            ContentPart::Text(_) => "text",
            ContentPart::Image(_) => "image_url",
            ContentPart::Other(kind) => kind,
        };
        ModuleError::invalid_request(format!(
            "content parts of type `{kind}` are not supported by provider {provider}"
        ))
    }
}

/// `image_url`: `{ "url": …, "detail": … }`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ImageUrl<'a> {
    #[serde(borrow)]
    pub url: Cow<'a, str>,
    /// `auto`, `low` or `high`; only OpenAI-compatible providers use it.
    #[serde(default, borrow, deserialize_with = "optional_text")]
    pub detail: Option<Cow<'a, str>>,
}

impl ImageUrl<'_> {
    /// The image as a data URL or an http(s) URL; anything else is a 400.
    pub fn source(&self) -> Result<ImageSource<'_>, ModuleError> {
        parse_image_url(&self.url)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ContentPart<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ContentPartVisitor(std::marker::PhantomData))
    }
}

struct ContentPartVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ContentPartVisitor<'a> {
    type Value = ContentPart<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a content part object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut kind = None;
        let mut text = None;
        let mut image_url = None;
        while let Some(ObjectKey(key)) = map.next_key()? {
            match key.as_ref() {
                "type" => kind = Some(map.next_value::<Text<'a>>()?.0),
                "text" => text = Some(map.next_value::<Text<'a>>()?.0),
                "image_url" => image_url = Some(map.next_value::<ImageUrl<'a>>()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let kind = kind.ok_or_else(|| A::Error::missing_field("type"))?;
        match kind.as_ref() {
            "text" => text
                .map(ContentPart::Text)
                .ok_or_else(|| A::Error::missing_field("text")),
            "image_url" => image_url
                .map(ContentPart::Image)
                .ok_or_else(|| A::Error::missing_field("image_url")),
            _ => Ok(ContentPart::Other(kind)),
        }
    }
}

/// `response_format`.
#[derive(Debug, Clone)]
pub enum ResponseFormat<'a> {
    Text,
    /// JSON mode: any JSON object.
    JsonObject,
    JsonSchema(JsonSchemaFormat<'a>),
}

/// `response_format.json_schema`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct JsonSchemaFormat<'a> {
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "optional_text")]
    pub description: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub schema: Option<&'a RawValue>,
    #[serde(default)]
    pub strict: Option<bool>,
}

impl<'de: 'a, 'a> Deserialize<'de> for ResponseFormat<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Fields<'a> {
            #[serde(rename = "type", borrow)]
            kind: Cow<'a, str>,
            #[serde(default, borrow)]
            json_schema: Option<JsonSchemaFormat<'a>>,
        }
        let fields = Fields::deserialize(deserializer)?;
        match (fields.kind.as_ref(), fields.json_schema) {
            ("text", _) => Ok(ResponseFormat::Text),
            ("json_object", _) => Ok(ResponseFormat::JsonObject),
            ("json_schema", Some(schema)) => Ok(ResponseFormat::JsonSchema(schema)),
            ("json_schema", None) => Err(D::Error::missing_field("json_schema")),
            (other, _) => Err(D::Error::unknown_variant(
                other,
                &["text", "json_object", "json_schema"],
            )),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ChatRequest<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ChatRequestVisitor(std::marker::PhantomData))
    }
}

struct ChatRequestVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ChatRequestVisitor<'a> {
    type Value = ChatRequest<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a chat completion request object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut request = ChatRequest::default();
        let mut has_messages = false;
        while let Some(ObjectKey(key)) = map.next_key()? {
            match key.as_ref() {
                "model" => request.model = map.next_value::<Option<Text<'a>>>()?.map(|t| t.0),
                "messages" => {
                    request.messages = map.next_value()?;
                    has_messages = true;
                }
                "tools" => {
                    request.tools = map
                        .next_value::<Option<Vec<Tool<'a>>>>()?
                        .unwrap_or_default()
                }
                "tool_choice" => request.tool_choice = map.next_value()?,
                "temperature" => request.temperature = map.next_value()?,
                "top_p" => request.top_p = map.next_value()?,
                "top_k" => request.top_k = map.next_value()?,
                "max_tokens" => request.max_tokens = map.next_value()?,
                "max_completion_tokens" => request.max_completion_tokens = map.next_value()?,
                "stop" => request.stop = map.next_value::<StopSequences<'a>>()?.0,
                "seed" => request.seed = map.next_value()?,
                "response_format" => request.response_format = map.next_value()?,
                "stream" => request.stream = map.next_value()?,
                "stream_options" => request.stream_options = map.next_value()?,
                "n" => request.n = map.next_value()?,
                "user" => request.user = map.next_value::<Option<Text<'a>>>()?.map(|t| t.0),
                _ => {
                    if map.next_value::<IsSet>()?.0 {
                        request.other.push(key);
                    }
                }
            }
        }
        if !has_messages {
            return Err(A::Error::missing_field("messages"));
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/kong-ai-proxy"
    );

    fn fixture(path: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}/{path}")).unwrap()
    }

    fn error(body: &str) -> String {
        let error = ChatRequest::parse(body.as_bytes()).unwrap_err();
        assert_eq!(error.status, 400);
        error.message.into_string()
    }

    #[test]
    fn kong_unit_chat_request_reads_every_message() {
        let body = fixture("unit/requests/llm-v1-chat.json");
        let request = ChatRequest::parse(&body).unwrap();
        let expected: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let messages = expected["messages"].as_array().unwrap();
        assert_eq!(request.messages.len(), messages.len());
        for (read, sent) in request.messages.iter().zip(messages) {
            assert_eq!(
                read.content.as_ref().map(|c| c.text().into_owned()),
                sent["content"].as_str().map(str::to_owned)
            );
        }
        assert_eq!(request.messages[0].role, Role::System);
        assert_eq!(request.messages[1].role, Role::User);
        assert_eq!(request.messages[2].role, Role::Assistant);
        assert_eq!(request.max_tokens, expected["max_tokens"].as_u64());
        assert_eq!(request.temperature, expected["temperature"].as_f64());
    }

    #[test]
    fn kong_tool_fixtures_read_tools_and_choices() {
        let body = fixture("openai/llm-v1-chat/requests/good-stream-with-functions.json");
        let request = ChatRequest::parse(&body).unwrap();
        let names: Vec<&str> = request
            .tools
            .iter()
            .map(|t| t.function.name.as_ref())
            .collect();
        assert_eq!(names, ["add", "multiply"]);
        assert!(request.tools[0].function.parameters.is_some());
        assert_eq!(request.stream, Some(true));
        assert_eq!(request.n, Some(1));

        for (file, expected) in [
            ("tool_choice_auto.json", ToolChoice::Auto),
            ("tool_choice_none.json", ToolChoice::None),
            ("tool_choice_required.json", ToolChoice::Required),
        ] {
            let body = fixture(&format!("openai/llm-v1-chat/requests/{file}"));
            assert_eq!(
                ChatRequest::parse(&body).unwrap().tool_choice,
                Some(expected),
                "{file}"
            );
        }
        let body = fixture("openai/llm-v1-chat/requests/tool_choice_object_function.json");
        assert!(matches!(
            ChatRequest::parse(&body).unwrap().tool_choice,
            Some(ToolChoice::Function(_))
        ));
    }

    #[test]
    fn kong_multimodal_fixture_has_an_image_part() {
        let body = fixture("openai/llm-v1-chat/requests/good_multi_modal.json");
        let request = ChatRequest::parse(&body).unwrap();
        let parts = request
            .messages
            .iter()
            .find_map(|m| match &m.content {
                Some(Content::Parts(parts)) => Some(parts),
                _ => None,
            })
            .unwrap();
        assert!(parts.iter().any(|p| matches!(p, ContentPart::Text(_))));
        let image = parts
            .iter()
            .find_map(|p| match p {
                ContentPart::Image(image) => Some(image),
                _ => None,
            })
            .unwrap();
        assert!(matches!(image.source(), Ok(ImageSource::Http(_))));
    }

    #[test]
    fn every_typed_field_is_read() {
        let body = br#"{
            "model":"gpt-4o","messages":[{"role":"developer","content":"be brief"}],
            "temperature":0.5,"top_p":0.9,"top_k":40,"max_tokens":10,"max_completion_tokens":20,
            "stop":"END","seed":-7,"stream":true,"stream_options":{"include_usage":true},
            "n":1,"user":"u1","response_format":{"type":"json_object"}
        }"#;
        let request = ChatRequest::parse(body).unwrap();
        assert_eq!(request.model.as_deref(), Some("gpt-4o"));
        assert!(matches!(request.model, Some(Cow::Borrowed(_))));
        assert_eq!(request.messages[0].role, Role::Developer);
        assert_eq!(
            (request.temperature, request.top_p, request.top_k),
            (Some(0.5), Some(0.9), Some(40))
        );
        assert_eq!(request.max_output_tokens(), Some(20));
        assert_eq!(request.stop, vec!["END"]);
        assert_eq!(request.seed, Some(-7));
        assert_eq!(request.stream, Some(true));
        assert_eq!(
            request.stream_options,
            Some(StreamOptions {
                include_usage: Some(true)
            })
        );
        assert_eq!((request.n, request.user.as_deref()), (Some(1), Some("u1")));
        assert!(matches!(
            request.response_format,
            Some(ResponseFormat::JsonObject)
        ));
        assert!(request.other.is_empty());
    }

    #[test]
    fn other_fields_are_named_unless_null() {
        let body = br#"{"messages":[{"role":"user","content":"x"}],"logprobs":true,
            "top_logprobs":null,"frequency_penalty":0,"metadata":{"a":"b"},"max_tokens":null}"#;
        let request = ChatRequest::parse(body).unwrap();
        assert_eq!(
            request.other,
            vec!["logprobs", "frequency_penalty", "metadata"]
        );
        assert_eq!(request.max_tokens, None);
    }

    #[test]
    fn json_schema_response_format() {
        let body = br#"{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object"},"strict":true}}}"#;
        let Some(ResponseFormat::JsonSchema(schema)) =
            ChatRequest::parse(body).unwrap().response_format
        else {
            panic!("not a json_schema format");
        };
        assert_eq!(schema.name, "answer");
        assert_eq!(
            schema.schema.map(RawValue::get),
            Some(r#"{"type":"object"}"#)
        );
        assert_eq!(schema.strict, Some(true));
    }

    #[test]
    fn assistant_tool_calls_and_tool_results() {
        let body = br#"{"messages":[
            {"role":"user","content":"2+2?"},
            {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"add","arguments":"{\"a\":2,\"b\":2}"}}]},
            {"role":"tool","tool_call_id":"call_1","content":"4"}]}"#;
        let request = ChatRequest::parse(body).unwrap();
        let assistant = &request.messages[1];
        assert!(assistant.content.is_none());
        assert_eq!(assistant.tool_calls[0].function.name, "add");
        let tool = &request.messages[2];
        assert_eq!(tool.role, Role::Tool);
        assert_eq!(tool.tool_call_id.as_deref(), Some("call_1"));
        assert!(matches!(tool.tool_call_id, Some(Cow::Borrowed(_))));
        assert!(request.messages[0].tool_calls.is_empty());
    }

    #[test]
    fn content_text_joins_text_parts() {
        let parts = Content::Parts(vec![
            ContentPart::Text("Describe".into()),
            ContentPart::Image(ImageUrl {
                url: "https://h/x.png".into(),
                detail: None,
            }),
            ContentPart::Text("this".into()),
            ContentPart::Text("briefly".into()),
        ]);
        assert_eq!(parts.text(), "Describe\nthis\nbriefly");
        assert_eq!(
            parts.text_only("cohere").unwrap_err().message.as_str(),
            "content parts of type `image_url` are not supported by provider cohere"
        );
        let one = Content::Parts(vec![ContentPart::Text("only".into())]);
        assert!(matches!(one.text(), Cow::Borrowed("only")));
        assert_eq!(one.text_only("cohere").unwrap(), "only");
        assert_eq!(Content::Parts(vec![]).text(), "");
    }

    #[test]
    fn audio_parts_are_kept_by_type_for_a_clear_400() {
        let body = br#"{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]}"#;
        let request = ChatRequest::parse(body).unwrap();
        let Some(Content::Parts(parts)) = &request.messages[0].content else {
            panic!("no parts");
        };
        assert_eq!(parts[0], ContentPart::Other("input_audio".into()));
        assert_eq!(
            parts[0].unsupported("anthropic").message.as_str(),
            "content parts of type `input_audio` are not supported by provider anthropic"
        );
    }

    #[test]
    fn bad_requests_name_the_field() {
        let cases = [
            (
                r#"{"messages":[{"role":"user","content":"x"},{"role":"function","name":"f","content":"1"}]}"#,
                "messages[1].role: the legacy `function` role is not supported: send tool results as `tool` messages",
            ),
            (
                r#"{"messages":[{"role":"wizard","content":"x"}]}"#,
                "messages[0].role: unknown variant `wizard`, expected one of `system`, `developer`, `user`, `assistant`, `tool`",
            ),
            (
                r#"{"messages":[{"role":"user","content":[{"type":"text"}]}]}"#,
                "messages[0].content[0]: missing field `text`",
            ),
            (
                r#"{"messages":[{"role":"user","content":[{"text":"x"}]}]}"#,
                "messages[0].content[0]: missing field `type`",
            ),
            (
                r#"{"messages":[{"role":"user","content":5}]}"#,
                "messages[0].content: invalid type: integer `5`, expected a string or an array of content parts",
            ),
            (
                r#"{"messages":[{"role":"user","content":"x"}],"temperature":"hot"}"#,
                "temperature: invalid type: string \"hot\", expected f64",
            ),
            (
                r#"{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"custom","custom":{}}]}"#,
                "tools[0]: missing field `function`",
            ),
            (
                r#"{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"yaml"}}"#,
                "response_format: unknown variant `yaml`, expected one of `text`, `json_object`, `json_schema`",
            ),
            (
                r#"{"model":"m"}"#,
                "request body: missing field `messages`",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(error(body), expected, "{body}");
        }
    }
}
