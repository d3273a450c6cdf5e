//! A borrowed skim of a client's OpenAI request, and the checks the gateway makes before a request
//! goes anywhere.
//!
//! One pass over the body reads the fields routing needs (`model`, `stream`,
//! `stream_options.include_usage`) and the shape of the fields validation needs; message content,
//! tools and everything else are skipped in place. Every failure is a 400 whose message names the
//! field, since the client has to fix its request.

use std::borrow::Cow;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::json_shape::{FieldSeed, FieldShape, Kind, Number};
use crate::abi::{BodyMember, ModuleError, RouteType};
use crate::client_body::locate_members;
use crate::json_edit::ObjectKey;

/// Kong's message when a body has both `messages` and `prompt`.
pub const MULTIPLE_FORMATS: &str = "request matches multiple LLM request formats";

/// Kong's message when a body has neither the prompt nor the messages its route needs.
pub const NO_VALID_PROMPTS: &str = "request body doesn't contain valid prompts";

/// What the gateway reads from a client request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestPeek<'a> {
    /// `None` when absent or `null`; an empty string stays `Some("")`.
    pub model: Option<Cow<'a, str>>,
    pub stream: bool,
    /// `stream_options.include_usage` is `true`.
    pub include_usage: bool,
    pub has_messages: bool,
    pub has_prompt: bool,
    pub has_input: bool,
    /// `max_tokens`, else `max_completion_tokens`, when a non-negative integer.
    pub max_tokens: Option<u64>,
    /// `temperature` and `top_p`, when numbers.
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// Where the body's top-level members lie, for [`crate::client_body::ClientBody`]; empty for
    /// `preserve`, and when a key has escapes.
    pub members: Vec<BodyMember>,
}

/// Reads and validates a client body for `route_type`. For `preserve` the body is the client's
/// business: nothing is validated and a body that is not a JSON object peeks as empty.
pub fn peek_request(route_type: RouteType, body: &[u8]) -> Result<RequestPeek<'_>, ModuleError> {
    if route_type == RouteType::PRESERVE {
        return Ok(crate::json_bytes::from_bytes::<Fields<'_>>(body)
            .map(|fields| fields.lenient_peek())
            .unwrap_or_default());
    }
    if !matches!(
        route_type,
        RouteType::CHAT | RouteType::COMPLETIONS | RouteType::EMBEDDINGS
    ) {
        return Err(ModuleError::invalid_request(format!(
            "route type {} is not supported",
            route_type.0
        )));
    }
    let fields: Fields<'_> =
        crate::json_bytes::from_bytes(body).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => {
                ModuleError::invalid_request("request body must be a JSON object")
            }
            _ => ModuleError::invalid_request(format!("request body is not valid JSON: {e}")),
        })?;
    fields.check_types()?;
    match route_type {
        RouteType::CHAT => fields.check_chat()?,
        RouteType::COMPLETIONS => fields.check_completions()?,
        _ => fields.check_embeddings()?,
    }
    let members = match &fields.keys {
        Some(keys) => locate_members(body, keys).unwrap_or_default(),
        None => Vec::new(),
    };
    Ok(RequestPeek {
        members,
        ..fields.lenient_peek()
    })
}

/// The top-level fields the gateway reads. A key sent twice keeps its last value, as serde does.
#[derive(Debug, Default)]
struct Fields<'a> {
    model: Option<FieldShape<'a>>,
    stream: Option<FieldShape<'a>>,
    stream_options: Option<FieldShape<'a>>,
    messages: Option<FieldShape<'a>>,
    prompt: Option<FieldShape<'a>>,
    input: Option<FieldShape<'a>>,
    temperature: Option<FieldShape<'a>>,
    top_p: Option<FieldShape<'a>>,
    max_tokens: Option<FieldShape<'a>>,
    max_completion_tokens: Option<FieldShape<'a>>,
    n: Option<FieldShape<'a>>,
    top_k: Option<FieldShape<'a>>,
    /// Every key as borrowed from the body, in order; `None` once one had escapes (decoded into a
    /// copy, so not where it lies in the body).
    keys: Option<Vec<&'a str>>,
}

#[derive(Clone, Copy)]
enum Expected {
    String,
    Boolean,
    Number,
    Integer,
    Object,
}

impl Expected {
    fn accepts(self, kind: Kind) -> bool {
        match self {
            Expected::String => kind == Kind::String,
            Expected::Boolean => matches!(kind, Kind::Bool(_)),
            Expected::Number => matches!(kind, Kind::Integer | Kind::Float),
            Expected::Integer => kind == Kind::Integer,
            Expected::Object => kind == Kind::Object,
        }
    }

    fn described(self) -> &'static str {
        match self {
            Expected::String => "a string",
            Expected::Boolean => "a boolean",
            Expected::Number => "a number",
            Expected::Integer => "an integer",
            Expected::Object => "an object",
        }
    }
}

fn kind_of(field: &Option<FieldShape<'_>>) -> Option<Kind> {
    field.as_ref().map(|f| f.kind).filter(|k| *k != Kind::Null)
}

fn must_be(name: &str, expected: Expected) -> ModuleError {
    ModuleError::invalid_request(format!("'{name}' must be {}", expected.described()))
}

impl<'a> Fields<'a> {
    /// Types OpenAI documents for fields every route shares; `null` is accepted for each, as
    /// OpenAI accepts it.
    fn check_types(&self) -> Result<(), ModuleError> {
        let typed = [
            ("model", &self.model, Expected::String),
            ("stream", &self.stream, Expected::Boolean),
            ("stream_options", &self.stream_options, Expected::Object),
            ("temperature", &self.temperature, Expected::Number),
            ("top_p", &self.top_p, Expected::Number),
            ("max_tokens", &self.max_tokens, Expected::Integer),
            (
                "max_completion_tokens",
                &self.max_completion_tokens,
                Expected::Integer,
            ),
            ("n", &self.n, Expected::Integer),
            ("top_k", &self.top_k, Expected::Integer),
        ];
        for (name, field, expected) in typed {
            if let Some(kind) = kind_of(field) {
                if !expected.accepts(kind) {
                    return Err(must_be(name, expected));
                }
            }
        }
        let include_usage = self
            .stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .filter(|k| *k != Kind::Null);
        if let Some(kind) = include_usage {
            if !Expected::Boolean.accepts(kind) {
                return Err(must_be("stream_options.include_usage", Expected::Boolean));
            }
        }
        Ok(())
    }

    fn check_chat(&self) -> Result<(), ModuleError> {
        self.check_single_format(RouteType::CHAT)?;
        let Some(messages) = self.messages.as_ref().filter(|m| m.kind != Kind::Null) else {
            return Err(ModuleError::invalid_request(format!(
                "{NO_VALID_PROMPTS}: 'messages' is required"
            )));
        };
        if messages.kind != Kind::Array || messages.elements.count == 0 {
            return Err(ModuleError::invalid_request(
                "'messages' must be a non-empty array",
            ));
        }
        let facts = messages.elements;
        let not_object = facts.first_non_object.unwrap_or(usize::MAX);
        match facts.first_bad_role {
            Some((index, None)) if index < not_object => Err(ModuleError::invalid_request(
                format!("'messages[{index}].role' is required"),
            )),
            Some((index, Some(_))) if index < not_object => Err(ModuleError::invalid_request(
                format!("'messages[{index}].role' must be a string"),
            )),
            _ if facts.first_non_object.is_some() => Err(ModuleError::invalid_request(format!(
                "'messages[{not_object}]' must be an object"
            ))),
            _ => Ok(()),
        }
    }

    fn check_completions(&self) -> Result<(), ModuleError> {
        self.check_single_format(RouteType::COMPLETIONS)?;
        let Some(prompt) = self.prompt.as_ref().filter(|p| p.kind != Kind::Null) else {
            return Err(ModuleError::invalid_request(format!(
                "{NO_VALID_PROMPTS}: 'prompt' is required"
            )));
        };
        let facts = prompt.elements;
        let valid = match prompt.kind {
            Kind::String => true,
            Kind::Array => facts.all_strings || facts.all_integers || facts.all_integer_arrays,
            _ => false,
        };
        if !valid {
            return Err(ModuleError::invalid_request(
                "'prompt' must be a string, an array of strings, an array of token integers \
                 or an array of token arrays",
            ));
        }
        Ok(())
    }

    fn check_embeddings(&self) -> Result<(), ModuleError> {
        if kind_of(&self.input).is_none() {
            return Err(ModuleError::invalid_request("'input' is required"));
        }
        Ok(())
    }

    /// Kong's format checks: a body may not be both a chat and a completion, nor the other
    /// route's format.
    fn check_single_format(&self, route_type: RouteType) -> Result<(), ModuleError> {
        let has_messages = kind_of(&self.messages).is_some();
        let has_prompt = kind_of(&self.prompt).is_some();
        let sent_format = match (has_messages, has_prompt) {
            (true, true) => return Err(ModuleError::invalid_request(MULTIPLE_FORMATS)),
            (true, false) => RouteType::CHAT,
            (false, true) => RouteType::COMPLETIONS,
            (false, false) => return Ok(()),
        };
        if sent_format != route_type {
            return Err(ModuleError::invalid_request(format!(
                "[{}] message format is not compatible with [{}] route type",
                sent_format.as_str(),
                route_type.as_str()
            )));
        }
        Ok(())
    }

    /// The peek, reading a field of the wrong type as absent.
    fn lenient_peek(self) -> RequestPeek<'a> {
        let include_usage = self
            .stream_options
            .as_ref()
            .is_some_and(|o| o.kind == Kind::Object && o.include_usage == Some(Kind::Bool(true)));
        let number = |field: &Option<FieldShape<'_>>| field.as_ref().and_then(|f| f.number);
        RequestPeek {
            max_tokens: number(&self.max_tokens)
                .or(number(&self.max_completion_tokens))
                .and_then(Number::as_u64),
            temperature: number(&self.temperature).map(Number::as_f64),
            top_p: number(&self.top_p).map(Number::as_f64),
            stream: kind_of(&self.stream) == Some(Kind::Bool(true)),
            include_usage,
            has_messages: kind_of(&self.messages).is_some(),
            has_prompt: kind_of(&self.prompt).is_some(),
            has_input: kind_of(&self.input).is_some(),
            model: self.model.and_then(|m| m.text),
            members: Vec::new(),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(FieldsVisitor(std::marker::PhantomData))
    }
}

struct FieldsVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for FieldsVisitor<'a> {
    type Value = Fields<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Fields {
            keys: Some(Vec::with_capacity(16)),
            ..Fields::default()
        };
        while let Some(ObjectKey(key)) = map.next_key()? {
            match (&key, fields.keys.as_mut()) {
                (Cow::Borrowed(key), Some(keys)) => keys.push(*key),
                _ => fields.keys = None,
            }
            let slot = match key.as_ref() {
                "model" => &mut fields.model,
                "stream" => &mut fields.stream,
                "stream_options" => &mut fields.stream_options,
                "messages" => &mut fields.messages,
                "prompt" => &mut fields.prompt,
                "input" => &mut fields.input,
                "temperature" => &mut fields.temperature,
                "top_p" => &mut fields.top_p,
                "max_tokens" => &mut fields.max_tokens,
                "max_completion_tokens" => &mut fields.max_completion_tokens,
                "n" => &mut fields.n,
                "top_k" => &mut fields.top_k,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            let keep_text = key == "model";
            *slot = Some(map.next_value_seed(FieldSeed { keep_text })?);
        }
        Ok(fields)
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

    fn rejected(route_type: RouteType, body: &str) -> String {
        let error = peek_request(route_type, body.as_bytes()).unwrap_err();
        assert_eq!(error.status, 400);
        assert_eq!(error.kind.as_str(), "invalid_request_error");
        error.message.into_string()
    }

    fn chat_rejects(body: &str) -> String {
        rejected(RouteType::CHAT, body)
    }

    const MESSAGES: &str = r#""messages":[{"role":"user","content":"hi"}]"#;

    fn located(body: &str) -> Vec<(&str, &str)> {
        peek_request(RouteType::CHAT, body.as_bytes())
            .unwrap()
            .members
            .iter()
            .map(|m| {
                (
                    &body[m.key_start..m.key_end],
                    &body[m.value_start..m.value_end],
                )
            })
            .collect()
    }

    #[test]
    fn the_peek_locates_every_top_level_member_for_the_module() {
        let body = r#" {"model": "gpt-4o" ,"messages":[{"role":"user","content":"}, \"x\":"}],
            "stream":true, "model":null }"#;
        assert_eq!(
            located(body),
            [
                ("model", r#""gpt-4o""#),
                ("messages", r#"[{"role":"user","content":"}, \"x\":"}]"#),
                ("stream", "true"),
                ("model", "null"),
            ]
        );
        let escaped_key = format!(r#"{{{MESSAGES},"t\u0065mperature":1}}"#);
        assert_eq!(located(&escaped_key), []);
        let preserved = peek_request(RouteType::PRESERVE, br#"{"model":"m"}"#).unwrap();
        assert!(preserved.members.is_empty());
    }

    #[test]
    fn kong_chat_fixtures() {
        let body = fixture("openai/llm-v1-chat/requests/good.json");
        let peek = peek_request(RouteType::CHAT, &body).unwrap();
        assert_eq!(
            RequestPeek {
                members: Vec::new(),
                ..peek
            },
            RequestPeek {
                has_messages: true,
                ..RequestPeek::default()
            }
        );

        let body = fixture("openai/llm-v1-chat/requests/good-stream.json");
        assert!(peek_request(RouteType::CHAT, &body).unwrap().stream);

        let body = fixture("openai/llm-v1-chat/requests/good_own_model.json");
        let peek = peek_request(RouteType::CHAT, &body).unwrap();
        assert_eq!(peek.model.as_deref(), Some("try-to-override-the-model"));
        assert!(matches!(peek.model, Some(Cow::Borrowed(_))));

        for ok in [
            "good_multi_modal.json",
            "good-stream-with-functions.json",
            "tool_choice_auto.json",
            "tool_choice_object_function.json",
        ] {
            let body = fixture(&format!("openai/llm-v1-chat/requests/{ok}"));
            assert!(peek_request(RouteType::CHAT, &body).is_ok(), "{ok}");
        }

        let body = fixture("openai/llm-v1-chat/requests/bad_request.json");
        let error = peek_request(RouteType::CHAT, &body).unwrap_err();
        assert_eq!(
            error.message.as_str(),
            "request body doesn't contain valid prompts: 'messages' is required"
        );
    }

    #[test]
    fn kong_completions_fixtures() {
        let body = fixture("openai/llm-v1-completions/requests/good.json");
        let peek = peek_request(RouteType::COMPLETIONS, &body).unwrap();
        assert!(peek.has_prompt && !peek.has_messages);

        let body = fixture("openai/llm-v1-completions/requests/bad_request.json");
        let error = peek_request(RouteType::COMPLETIONS, &body).unwrap_err();
        assert_eq!(
            error.message.as_str(),
            "request body doesn't contain valid prompts: 'prompt' is required"
        );

        let body = fixture("unit/requests/llm-v1-completion-template.json");
        let error = peek_request(RouteType::COMPLETIONS, &body).unwrap_err();
        assert!(error.message.starts_with("'prompt' must be a string"));
    }

    #[test]
    fn tuning_parameters_are_read_in_the_same_pass() {
        let body =
            format!(r#"{{{MESSAGES},"max_completion_tokens":256,"temperature":1,"top_p":0.9}}"#);
        let peek = peek_request(RouteType::CHAT, body.as_bytes()).unwrap();
        assert_eq!(
            (peek.max_tokens, peek.temperature, peek.top_p),
            (Some(256), Some(1.0), Some(0.9))
        );
        let body = format!(r#"{{{MESSAGES},"max_tokens":64,"max_completion_tokens":256}}"#);
        let peek = peek_request(RouteType::CHAT, body.as_bytes()).unwrap();
        assert_eq!(peek.max_tokens, Some(64));
        // A preserve body is the client's business: a value of another type is no value.
        let peek = peek_request(
            RouteType::PRESERVE,
            br#"{"temperature":"hot","max_tokens":-1,"top_p":0.5}"#,
        )
        .unwrap();
        assert_eq!(
            (peek.max_tokens, peek.temperature, peek.top_p),
            (None, None, Some(0.5))
        );
    }

    #[test]
    fn model_null_absent_empty_and_escaped() {
        let peek = |body: String| {
            let model = peek_request(RouteType::CHAT, body.as_bytes())
                .unwrap()
                .model;
            RequestPeek {
                model: model.map(|m| Cow::Owned(m.into_owned())),
                ..RequestPeek::default()
            }
        };
        assert_eq!(peek(format!(r#"{{"model":null,{MESSAGES}}}"#)).model, None);
        assert_eq!(peek(format!("{{{MESSAGES}}}")).model, None);
        assert_eq!(
            peek(format!(r#"{{"model":"",{MESSAGES}}}"#))
                .model
                .as_deref(),
            Some("")
        );
        assert_eq!(
            peek(format!(r#"{{"model":"gpt\u002d4",{MESSAGES}}}"#))
                .model
                .as_deref(),
            Some("gpt-4")
        );
        assert_eq!(
            peek(format!(r#"{{"model":"a","model":"b",{MESSAGES}}}"#))
                .model
                .as_deref(),
            Some("b")
        );
    }

    #[test]
    fn stream_and_include_usage() {
        let body = format!(
            r#"{{"stream":true,"stream_options":{{"include_usage":true,"x":[1]}},{MESSAGES}}}"#
        );
        let peek = peek_request(RouteType::CHAT, body.as_bytes()).unwrap();
        assert!(peek.stream && peek.include_usage);

        let body =
            format!(r#"{{"stream":null,"stream_options":{{"include_usage":false}},{MESSAGES}}}"#);
        let peek = peek_request(RouteType::CHAT, body.as_bytes()).unwrap();
        assert!(!peek.stream && !peek.include_usage);
    }

    #[test]
    fn wrong_types_name_the_field() {
        let cases = [
            (r#""model":5"#, "'model' must be a string"),
            (r#""stream":"yes""#, "'stream' must be a boolean"),
            (r#""temperature":"hot""#, "'temperature' must be a number"),
            (r#""top_p":[1]"#, "'top_p' must be a number"),
            (r#""max_tokens":1.5"#, "'max_tokens' must be an integer"),
            (
                r#""max_completion_tokens":"9""#,
                "'max_completion_tokens' must be an integer",
            ),
            (r#""n":true"#, "'n' must be an integer"),
            (r#""top_k":{}"#, "'top_k' must be an integer"),
            (
                r#""stream_options":true"#,
                "'stream_options' must be an object",
            ),
            (
                r#""stream_options":{"include_usage":1}"#,
                "'stream_options.include_usage' must be a boolean",
            ),
        ];
        for (field, message) in cases {
            assert_eq!(chat_rejects(&format!("{{{field},{MESSAGES}}}")), message);
        }
        let accepted = format!(
            r#"{{"temperature":1,"top_p":0.5,"max_tokens":-3,"n":null,"top_k":2,"stream_options":null,{MESSAGES}}}"#
        );
        assert!(peek_request(RouteType::CHAT, accepted.as_bytes()).is_ok());
    }

    #[test]
    fn messages_are_checked() {
        assert_eq!(
            chat_rejects(r#"{"messages":[]}"#),
            "'messages' must be a non-empty array"
        );
        assert_eq!(
            chat_rejects(r#"{"messages":{"role":"user"}}"#),
            "'messages' must be a non-empty array"
        );
        assert_eq!(
            chat_rejects(r#"{"messages":null}"#),
            "request body doesn't contain valid prompts: 'messages' is required"
        );
        assert_eq!(
            chat_rejects(r#"{"messages":[{"role":"user"},"hi"]}"#),
            "'messages[1]' must be an object"
        );
        assert_eq!(
            chat_rejects(r#"{"messages":[{"role":"user"},{"content":"x"}]}"#),
            "'messages[1].role' is required"
        );
        assert_eq!(
            chat_rejects(r#"{"messages":[{"role":null}]}"#),
            "'messages[0].role' must be a string"
        );
        assert_eq!(
            chat_rejects(r#"{"messages":[1,{"role":2}]}"#),
            "'messages[0]' must be an object"
        );
        assert_eq!(
            chat_rejects(r#"{"messages":[{"role":{"nested":"user"}},2]}"#),
            "'messages[0].role' must be a string"
        );
    }

    #[test]
    fn formats_must_match_the_route() {
        assert_eq!(
            chat_rejects(r#"{"messages":[{"role":"user"}],"prompt":"x"}"#),
            MULTIPLE_FORMATS
        );
        assert_eq!(
            rejected(
                RouteType::COMPLETIONS,
                r#"{"messages":[{"role":"user"}],"prompt":"x"}"#
            ),
            MULTIPLE_FORMATS
        );
        assert_eq!(
            chat_rejects(r#"{"prompt":"x"}"#),
            "[llm/v1/completions] message format is not compatible with [llm/v1/chat] route type"
        );
        assert_eq!(
            rejected(RouteType::COMPLETIONS, r#"{"messages":[{"role":"user"}]}"#),
            "[llm/v1/chat] message format is not compatible with [llm/v1/completions] route type"
        );
    }

    #[test]
    fn prompt_forms() {
        for ok in [r#""x""#, r#"["a","b"]"#, "[1,2,3]", "[[1,2],[3]]", "[]"] {
            let body = format!(r#"{{"prompt":{ok}}}"#);
            assert!(
                peek_request(RouteType::COMPLETIONS, body.as_bytes()).is_ok(),
                "{ok}"
            );
        }
        for bad in [r#"["a",1]"#, "[1.5]", "[[1,\"a\"]]", "{}", "3", "true"] {
            let body = format!(r#"{{"prompt":{bad}}}"#);
            assert!(
                rejected(RouteType::COMPLETIONS, &body).starts_with("'prompt' must be"),
                "{bad}"
            );
        }
    }

    #[test]
    fn embeddings_need_input() {
        let peek = peek_request(RouteType::EMBEDDINGS, br#"{"input":["a"],"model":"m"}"#).unwrap();
        assert!(peek.has_input);
        assert_eq!(peek.model.as_deref(), Some("m"));
        assert_eq!(
            rejected(RouteType::EMBEDDINGS, r#"{"model":"m"}"#),
            "'input' is required"
        );
        assert_eq!(
            rejected(RouteType::EMBEDDINGS, r#"{"input":null}"#),
            "'input' is required"
        );
    }

    #[test]
    fn bodies_that_are_not_objects() {
        assert_eq!(chat_rejects("[1]"), "request body must be a JSON object");
        assert_eq!(chat_rejects("\"x\""), "request body must be a JSON object");
        assert!(chat_rejects("{").starts_with("request body is not valid JSON: "));
        assert!(chat_rejects("").starts_with("request body is not valid JSON: "));
        assert!(chat_rejects("{\"a\":1}}").starts_with("request body is not valid JSON: "));
        let unbalanced = format!(
            r#"{{"messages":[{{"role":"user","content":{}}}]}}"#,
            "[".repeat(100_000)
        );
        assert!(chat_rejects(&unbalanced).starts_with("request body is not valid JSON: "));
    }

    #[test]
    fn deep_nesting_is_skipped_without_recursing() {
        let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let body = format!(
            r#"{{"messages":[{{"role":"user","content":{nested}}},{nested}],"tools":{nested}}}"#
        );
        assert_eq!(chat_rejects(&body), "'messages[1]' must be an object");
        let body = format!(r#"{{"prompt":[{nested}]}}"#);
        assert!(rejected(RouteType::COMPLETIONS, &body).starts_with("'prompt' must be"));
    }

    #[test]
    fn preserve_never_fails() {
        let peek = peek_request(RouteType::PRESERVE, b"\x00\xffnot json").unwrap();
        assert_eq!(peek, RequestPeek::default());
        let peek = peek_request(
            RouteType::PRESERVE,
            br#"{"model":"text-embedding-ada-002","input":"x","stream":"no"}"#,
        )
        .unwrap();
        assert_eq!(peek.model.as_deref(), Some("text-embedding-ada-002"));
        assert!(!peek.stream && peek.has_input);
        let peek = peek_request(RouteType::PRESERVE, br#"{"model":3}"#).unwrap();
        assert_eq!(peek.model, None);
    }

    #[test]
    fn unknown_route_types_are_refused() {
        assert_eq!(
            rejected(RouteType(42), "{}"),
            "route type 42 is not supported"
        );
    }
}
