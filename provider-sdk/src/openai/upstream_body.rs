//! The request body for an OpenAI-compatible upstream: the client's body with the few top-level
//! fields the route decides (model, streaming, tuning) edited in place, every other byte as sent.

use std::borrow::Cow;

use crate::abi::{ModuleError, RouteType};
use crate::client_body::ClientBody;
use crate::json_edit::{client_body_members, EditError, ObjectEdit};

/// What the route decides about an upstream body.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BodyEdits<'a> {
    /// The model to ask for; empty keeps the client's.
    pub model: &'a str,
    /// Whether the upstream call streams.
    pub stream: bool,
    /// Whether a streamed call asks for the usage chunk, so that the stream is metered. Off for
    /// upstreams that reject `stream_options` (Azure before API version 2024-08-01).
    pub stream_usage: bool,
    /// A cap operators set on cost: it replaces the client's value.
    pub max_tokens: Option<u64>,
    /// Defaults for what the client did not send.
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
}

/// The edited body, or `None` when the client's body can go upstream as it is.
///
/// - `model` becomes `edits.model`.
/// - Chat and completions: `stream` is set when streaming, or when the client sent it. With
///   `stream_usage`, a streamed call asks for the usage chunk (`stream_options.include_usage`,
///   merged with the client's other stream options), so that the stream is metered.
/// - Chat and completions: the client's `temperature` and `top_p` win; the configured ones fill in
///   what the client did not send. The configured `max_tokens` replaces the client's; a chat
///   client that uses `max_completion_tokens` gets that field capped instead.
/// - `top_k` is removed: OpenAI rejects it.
pub fn edit_upstream_body(
    route_type: RouteType,
    body: &ClientBody<'_>,
    edits: &BodyEdits<'_>,
) -> Result<Option<Vec<u8>>, ModuleError> {
    if !matches!(
        route_type,
        RouteType::CHAT | RouteType::COMPLETIONS | RouteType::EMBEDDINGS
    ) {
        return Ok(None);
    }
    let mut object = body_object(body)?;
    apply_upstream_edits(&mut object, route_type, edits)?;
    Ok(object.is_changed().then(|| object.into_bytes()))
}

/// The client's body as an [`ObjectEdit`], for a module that edits more than
/// [`edit_upstream_body`] does; a body that is not a JSON object is a 400.
pub fn body_object<'a>(body: &ClientBody<'a>) -> Result<ObjectEdit<'a>, ModuleError> {
    ObjectEdit::of_client_body(body).map_err(body_error)
}

/// The client's body as its members, in order and with repeated keys as sent (see
/// [`client_body_members`]); a body that is not a JSON object is a 400.
pub fn body_members<'a>(
    body: &ClientBody<'a>,
) -> Result<Vec<(Cow<'a, str>, &'a str)>, ModuleError> {
    client_body_members(body).map_err(body_error)
}

fn body_error(error: EditError) -> ModuleError {
    match error {
        EditError::NotAnObject => {
            ModuleError::invalid_request("request body must be a JSON object")
        }
        other => ModuleError::invalid_request(format!("request body is {other}")),
    }
}

/// The edits of [`edit_upstream_body`], made to `object`.
pub fn apply_upstream_edits(
    object: &mut ObjectEdit<'_>,
    route_type: RouteType,
    edits: &BodyEdits<'_>,
) -> Result<(), ModuleError> {
    let invalid_value = |e: EditError| ModuleError::invalid_request(e.to_string());
    if !edits.model.is_empty() {
        object
            .set_json("model", edits.model)
            .map_err(invalid_value)?;
    }
    object.remove("top_k");
    if matches!(route_type, RouteType::CHAT | RouteType::COMPLETIONS) {
        apply_streaming(object, edits.stream, edits.stream_usage).map_err(invalid_value)?;
        apply_tuning(object, route_type, edits).map_err(invalid_value)?;
    }
    Ok(())
}

fn apply_streaming(
    object: &mut ObjectEdit<'_>,
    stream: bool,
    stream_usage: bool,
) -> Result<(), EditError> {
    if !stream {
        if object.get("stream").is_some() {
            object.set_json("stream", &false)?;
        }
        return Ok(());
    }
    object.set_json("stream", &true)?;
    if !stream_usage {
        return Ok(());
    }
    let merged = match object.get("stream_options") {
        Some(options) if options.starts_with('{') => {
            let mut options = ObjectEdit::parse(options.as_bytes())?;
            options.set_json("include_usage", &true)?;
            options.is_changed().then(|| options.into_string())
        }
        _ => Some(r#"{"include_usage":true}"#.to_owned()),
    };
    if let Some(options) = merged {
        object.set("stream_options", options);
    }
    Ok(())
}

fn apply_tuning(
    object: &mut ObjectEdit<'_>,
    route_type: RouteType,
    edits: &BodyEdits<'_>,
) -> Result<(), EditError> {
    for (name, configured) in [("temperature", edits.temperature), ("top_p", edits.top_p)] {
        if let Some(value) = configured {
            if !is_sent(object, name) {
                object.set_json(name, &value)?;
            }
        }
    }
    if let Some(max_tokens) = edits.max_tokens {
        let field = if route_type == RouteType::CHAT && is_sent(object, "max_completion_tokens") {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        object.set_json(field, &max_tokens)?;
    }
    Ok(())
}

/// The client sent `name` with a value other than `null`.
fn is_sent(object: &ObjectEdit<'_>, name: &str) -> bool {
    object.get(name).is_some_and(|v| v != "null")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::peek_request;

    fn edits(model: &str) -> BodyEdits<'_> {
        BodyEdits {
            model,
            stream: false,
            stream_usage: true,
            max_tokens: None,
            temperature: None,
            top_p: None,
        }
    }

    /// The edited body, read by parsing it. When the gateway's peek accepts the body and locates
    /// its members (for every route type but `preserve`), the same edit from those members must
    /// give the same bytes.
    fn edited(route_type: RouteType, body: &str, edits: &BodyEdits<'_>) -> Option<String> {
        let bytes = body.as_bytes();
        let parsed = edit_upstream_body(route_type, &ClientBody::new(bytes), edits).unwrap();
        let peek = peek_request(route_type, bytes).ok();
        if let Some(peek) = peek.filter(|_| route_type != RouteType::PRESERVE) {
            assert!(!peek.members.is_empty(), "{body}");
            let located = ClientBody::with_members(bytes, &peek.members);
            assert_eq!(
                edit_upstream_body(route_type, &located, edits).unwrap(),
                parsed,
                "{body}"
            );
        }
        parsed.map(|b| String::from_utf8(b).unwrap())
    }

    const CHAT: &str = r#"{"messages":[{"role":"user","content":"hi"}]}"#;

    #[test]
    fn model_is_injected_and_an_unchanged_body_is_none() {
        assert_eq!(
            edited(RouteType::CHAT, CHAT, &edits("gpt-4")).as_deref(),
            Some(r#"{"messages":[{"role":"user","content":"hi"}],"model":"gpt-4"}"#)
        );
        let same = r#"{"model":"gpt-4", "messages":[{"role":"user","content":"hi"}]}"#;
        assert_eq!(edited(RouteType::CHAT, same, &edits("gpt-4")), None);
        assert_eq!(edited(RouteType::CHAT, same, &edits("")), None);
    }

    #[test]
    fn streaming_asks_for_usage_and_keeps_other_stream_options() {
        let streamed = BodyEdits {
            stream: true,
            ..edits("m")
        };
        assert_eq!(
            edited(RouteType::CHAT, r#"{"model":"m","stream":true}"#, &streamed).as_deref(),
            Some(r#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#)
        );
        assert_eq!(
            edited(
                RouteType::COMPLETIONS,
                r#"{"model":"m","stream":true,"stream_options":{"include_obfuscation":false}}"#,
                &streamed
            )
            .as_deref(),
            Some(
                r#"{"model":"m","stream":true,"stream_options":{"include_obfuscation":false,"include_usage":true}}"#
            )
        );
        let already = r#"{"model":"m","stream":true,"stream_options":{ "include_usage" : true }}"#;
        assert_eq!(edited(RouteType::CHAT, already, &streamed), None);
        assert_eq!(
            edited(
                RouteType::CHAT,
                r#"{"model":"m","stream_options":{"include_usage":false}}"#,
                &streamed
            )
            .as_deref(),
            Some(r#"{"model":"m","stream_options":{"include_usage":true},"stream":true}"#)
        );
        assert_eq!(
            edited(
                RouteType::CHAT,
                r#"{"model":"m","stream_options":null}"#,
                &streamed
            )
            .as_deref(),
            Some(r#"{"model":"m","stream_options":{"include_usage":true},"stream":true}"#)
        );
    }

    #[test]
    fn stream_usage_can_be_left_to_the_client() {
        let streamed = BodyEdits {
            stream: true,
            stream_usage: false,
            ..edits("m")
        };
        assert_eq!(
            edited(RouteType::CHAT, r#"{"model":"m"}"#, &streamed).as_deref(),
            Some(r#"{"model":"m","stream":true}"#)
        );
        let asked = r#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#;
        assert_eq!(edited(RouteType::CHAT, asked, &streamed), None);
    }

    #[test]
    fn stream_is_only_written_when_streaming_or_sent() {
        assert_eq!(
            edited(
                RouteType::CHAT,
                r#"{"model":"m","stream":null}"#,
                &edits("m")
            )
            .as_deref(),
            Some(r#"{"model":"m","stream":false}"#)
        );
        assert_eq!(
            edited(
                RouteType::CHAT,
                r#"{"model":"m","stream":false}"#,
                &edits("m")
            ),
            None
        );
        let streamed = BodyEdits {
            stream: true,
            ..edits("m")
        };
        assert_eq!(
            edited(
                RouteType::EMBEDDINGS,
                r#"{"model":"m","input":"x"}"#,
                &streamed
            ),
            None
        );
    }

    #[test]
    fn tuning_fills_in_and_max_tokens_caps() {
        let tuned = BodyEdits {
            temperature: Some(0.5),
            top_p: Some(1.0),
            max_tokens: Some(512),
            ..edits("m")
        };
        assert_eq!(
            edited(
                RouteType::CHAT,
                r#"{"model":"m","temperature":0.9,"top_p":null,"max_tokens":4000}"#,
                &tuned
            )
            .as_deref(),
            Some(r#"{"model":"m","temperature":0.9,"top_p":1.0,"max_tokens":512}"#)
        );
        assert_eq!(
            edited(
                RouteType::CHAT,
                r#"{"model":"m","temperature":0,"top_p":0.1,"max_completion_tokens":9000}"#,
                &tuned
            )
            .as_deref(),
            Some(r#"{"model":"m","temperature":0,"top_p":0.1,"max_completion_tokens":512}"#)
        );
        assert_eq!(
            edited(
                RouteType::COMPLETIONS,
                r#"{"model":"m","prompt":"x","max_completion_tokens":9000}"#,
                &tuned
            )
            .as_deref(),
            Some(
                r#"{"model":"m","prompt":"x","max_completion_tokens":9000,"temperature":0.5,"top_p":1.0,"max_tokens":512}"#
            )
        );
        assert_eq!(
            edited(
                RouteType::EMBEDDINGS,
                r#"{"model":"m","input":"x"}"#,
                &tuned
            ),
            None
        );
    }

    #[test]
    fn top_k_is_removed_everywhere() {
        for route_type in [
            RouteType::CHAT,
            RouteType::COMPLETIONS,
            RouteType::EMBEDDINGS,
        ] {
            assert_eq!(
                edited(route_type, r#"{"model":"m","top_k":40,"x":1}"#, &edits("m")).as_deref(),
                Some(r#"{"model":"m","x":1}"#)
            );
        }
    }

    #[test]
    fn preserve_is_never_edited_and_bad_bodies_are_400() {
        assert_eq!(edited(RouteType::PRESERVE, "not json", &edits("m")), None);
        let error =
            edit_upstream_body(RouteType::CHAT, &ClientBody::new(b"[1]"), &edits("m")).unwrap_err();
        assert_eq!(error.status, 400);
        assert_eq!(error.message.as_str(), "request body must be a JSON object");
        let error =
            edit_upstream_body(RouteType::CHAT, &ClientBody::new(b"{"), &edits("m")).unwrap_err();
        assert!(error.message.starts_with("request body is not valid JSON"));
    }
}
