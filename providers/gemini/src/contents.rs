//! OpenAI `messages` as Gemini `contents` and `systemInstruction`.
//!
//! - Every `system` and `developer` message, wherever it stands, becomes text parts of
//!   `systemInstruction`, one part per message (or per text part of a message), in order: Google
//!   reads each part as its own paragraph, so nothing is lost or run together (Kong concatenates
//!   them with no separator). They may hold text only.
//! - `user` → role `user`, `assistant` → role `model`.
//! - Content parts: `text` → `{text}`; an `image_url` with a base64 `data:` URL →
//!   `{inlineData: {mimeType, data}}`; with an `http(s)://` or `gs://` URL →
//!   `{fileData: {fileUri, mimeType}}`, the MIME type guessed from the file extension
//!   ([`guess_mime_type`]), `image/jpeg` when there is none. Other part types are a 400.
//! - An assistant's `tool_calls` → `functionCall` parts `{name, args}` after its text, with the
//!   arguments (Kong drops them). A thought signature carried in the call's id (see
//!   [`crate::tool_call_id`]) goes back as the part's `thoughtSignature`.
//! - A `tool` message → a `functionResponse` part `{name, response}` in a `user` turn, as
//!   Google's function calling guide sends results today (the older `function` role is not
//!   needed). `name` is the function of the assistant tool call whose id the message answers
//!   (Kong hard-codes `get_product_info`). A result that is a JSON object is the `response`
//!   itself; any other text becomes `{"output": text}`, the key Google documents for a
//!   function's output.
//! - Consecutive turns of the same role are merged into one, as Gemini expects one turn per
//!   speaker: the results of parallel tool calls answer together, right after the calls.
//! - A message's `name` (the participant's name) has no Gemini equivalent and is not sent.
//! - An assistant message with neither text nor tool calls adds nothing.

use std::borrow::Cow;

use provider_sdk::abi::ModuleError;
use provider_sdk::images::ImageSource;
use provider_sdk::openai::{ChatMessage, Content as OpenAiContent, ContentPart, ImageUrl, Role};
use provider_sdk::tool_calls::arguments_to_input;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;

use crate::tool_call_id;
use crate::PROVIDER;

/// The MIME type of a file URL whose extension says nothing: the commonest image format.
pub const DEFAULT_FILE_MIME_TYPE: &str = "image/jpeg";

/// One turn of the conversation (`Content`), or the system instruction (no role).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Content<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    pub parts: Vec<Part<'a>>,
}

/// One `Part` of a turn.
#[derive(Debug, Clone)]
pub enum Part<'a> {
    Text(Cow<'a, str>),
    InlineData {
        mime_type: &'a str,
        data: &'a str,
    },
    FileData {
        mime_type: &'static str,
        file_uri: &'a str,
    },
    FunctionCall {
        name: &'a str,
        args: Box<RawValue>,
        thought_signature: Option<&'a str>,
    },
    FunctionResponse {
        name: &'a str,
        response: FunctionOutput<'a>,
    },
}

/// A tool message's content as a function's `response`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionOutput<'a>(pub Cow<'a, str>);

/// What the messages become.
#[derive(Debug, Clone, Default)]
pub struct Conversation<'a> {
    pub system_instruction: Option<Content<'a>>,
    pub contents: Vec<Content<'a>>,
}

/// Translates `messages` for `model` (see the module documentation).
pub fn conversation<'a>(
    messages: &'a [ChatMessage<'_>],
    model: &str,
) -> Result<Conversation<'a>, ModuleError> {
    let mut conversation = Conversation::default();
    let mut system_parts = Vec::new();
    // The assistant's tool calls so far, (id, function name), to name the tool results.
    let mut calls: Vec<(&str, &str)> = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let at =
            |problem: String| ModuleError::invalid_request(format!("messages[{index}]: {problem}"));
        match message.role {
            Role::System | Role::Developer => {
                system_parts.extend(system_text(message.content.as_ref()).map_err(at)?)
            }
            Role::User => {
                let parts = user_parts(message.content.as_ref()).map_err(at)?;
                push(&mut conversation.contents, "user", parts);
            }
            Role::Assistant => {
                let mut parts = assistant_text(message.content.as_ref()).map_err(at)?;
                for call in &message.tool_calls {
                    let (_, thought_signature) = tool_call_id::decode(&call.id);
                    parts.push(Part::FunctionCall {
                        name: &call.function.name,
                        args: arguments_to_input(&call.id, &call.function.arguments)?,
                        thought_signature,
                    });
                    calls.push((&call.id, &call.function.name));
                }
                push(&mut conversation.contents, "model", parts);
            }
            Role::Tool => {
                let id = message
                    .tool_call_id
                    .as_deref()
                    .ok_or_else(|| at("a tool message needs `tool_call_id`".to_owned()))?;
                let name = calls
                    .iter()
                    .rev()
                    .find(|(call_id, _)| *call_id == id)
                    .map(|(_, name)| *name)
                    .ok_or_else(|| {
                        at(format!(
                            "tool_call_id `{id}` answers no tool call of an earlier assistant message"
                        ))
                    })?;
                let output = match message.content.as_ref() {
                    Some(content) => content
                        .text_only(PROVIDER)
                        .map_err(|e| at(e.message.into_string()))?,
                    None => Cow::Borrowed(""),
                };
                let part = Part::FunctionResponse {
                    name,
                    response: FunctionOutput(output),
                };
                push(&mut conversation.contents, "user", vec![part]);
            }
        }
    }
    if !system_parts.is_empty() {
        if model.starts_with("gemini-1.0") {
            return Err(ModuleError::invalid_request(
                "system prompts aren't supported on gemini-1.0 models",
            ));
        }
        conversation.system_instruction = Some(Content {
            role: None,
            parts: system_parts,
        });
    }
    Ok(conversation)
}

/// Appends `parts` as a turn of `role`, joining the previous turn when it is the same speaker's.
fn push<'a>(contents: &mut Vec<Content<'a>>, role: &'static str, parts: Vec<Part<'a>>) {
    if parts.is_empty() {
        return;
    }
    match contents.last_mut() {
        Some(last) if last.role == Some(role) => last.parts.extend(parts),
        _ => contents.push(Content {
            role: Some(role),
            parts,
        }),
    }
}

fn system_text<'a>(content: Option<&'a OpenAiContent<'_>>) -> Result<Vec<Part<'a>>, String> {
    match content {
        None => Ok(Vec::new()),
        Some(OpenAiContent::Text(text)) => Ok(vec![Part::Text(Cow::Borrowed(text))]),
        Some(OpenAiContent::Parts(parts)) => parts
            .iter()
            .map(|part| match part {
                ContentPart::Text(text) => Ok(Part::Text(Cow::Borrowed(text))),
                _ => Err(
                    "system and developer messages may only hold text with provider gemini"
                        .to_owned(),
                ),
            })
            .collect(),
    }
}

fn user_parts<'a>(content: Option<&'a OpenAiContent<'_>>) -> Result<Vec<Part<'a>>, String> {
    match content {
        None => Ok(Vec::new()),
        Some(OpenAiContent::Text(text)) => Ok(vec![Part::Text(Cow::Borrowed(text))]),
        Some(OpenAiContent::Parts(parts)) => parts
            .iter()
            .enumerate()
            .map(|(index, part)| {
                let part = match part {
                    ContentPart::Text(text) => Ok(Part::Text(Cow::Borrowed(text))),
                    ContentPart::Image(image) => image_part(image),
                    other => Err(other.unsupported(PROVIDER).message.into_string()),
                };
                part.map_err(|problem| format!("content[{index}]: {problem}"))
            })
            .collect(),
    }
}

/// An assistant's text: the string, or its text parts; empty text adds no part.
fn assistant_text<'a>(content: Option<&'a OpenAiContent<'_>>) -> Result<Vec<Part<'a>>, String> {
    let texts: Vec<&str> = match content {
        None => Vec::new(),
        Some(OpenAiContent::Text(text)) => vec![text],
        Some(OpenAiContent::Parts(parts)) => parts
            .iter()
            .map(|part| match part {
                ContentPart::Text(text) => Ok(text.as_ref()),
                other => Err(other.unsupported(PROVIDER).message.into_string()),
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(texts
        .into_iter()
        .filter(|text| !text.is_empty())
        .map(|text| Part::Text(Cow::Borrowed(text)))
        .collect())
}

fn image_part<'a>(image: &'a ImageUrl<'_>) -> Result<Part<'a>, String> {
    let url: &str = &image.url;
    let is_gcs = url
        .get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("gs://"));
    if is_gcs && url.len() > 5 && !url.chars().any(char::is_whitespace) {
        return Ok(Part::FileData {
            mime_type: guess_mime_type(url),
            file_uri: url,
        });
    }
    match image.source().map_err(|e| e.message.into_string())? {
        ImageSource::Data(data) => Ok(Part::InlineData {
            mime_type: data.mime,
            data: data.data,
        }),
        ImageSource::Http(url) => Ok(Part::FileData {
            mime_type: guess_mime_type(url),
            file_uri: url,
        }),
    }
}

/// The MIME type a file URL's extension names, for the types Gemini reads from an image part;
/// [`DEFAULT_FILE_MIME_TYPE`] for any other. Query and fragment are ignored.
pub fn guess_mime_type(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let file = path.rsplit('/').next().unwrap_or_default();
    let Some((_, extension)) = file.rsplit_once('.') else {
        return DEFAULT_FILE_MIME_TYPE;
    };
    match extension.to_ascii_lowercase().as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        _ => DEFAULT_FILE_MIME_TYPE,
    }
}

impl Serialize for Part<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self {
            Part::Text(text) => map.serialize_entry("text", text)?,
            Part::InlineData { mime_type, data } => {
                map.serialize_entry("inlineData", &Blob { mime_type, data })?
            }
            Part::FileData {
                mime_type,
                file_uri,
            } => map.serialize_entry(
                "fileData",
                &FileData {
                    mime_type,
                    file_uri,
                },
            )?,
            Part::FunctionCall {
                name,
                args,
                thought_signature,
            } => {
                map.serialize_entry("functionCall", &FunctionCall { name, args })?;
                if let Some(signature) = thought_signature {
                    map.serialize_entry("thoughtSignature", signature)?;
                }
            }
            Part::FunctionResponse { name, response } => map.serialize_entry(
                "functionResponse",
                &FunctionResponse {
                    name,
                    response: response.clone(),
                },
            )?,
        }
        map.end()
    }
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Blob<'s> {
    mime_type: &'s str,
    data: &'s str,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct FileData<'s> {
    mime_type: &'s str,
    file_uri: &'s str,
}

#[derive(serde::Serialize)]
struct FunctionCall<'s> {
    name: &'s str,
    args: &'s RawValue,
}

#[derive(serde::Serialize)]
struct FunctionResponse<'s> {
    name: &'s str,
    response: FunctionOutput<'s>,
}

impl Serialize for FunctionOutput<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.0.trim();
        if text.starts_with('{') {
            if let Ok(object) = serde_json::from_str::<&RawValue>(text) {
                return object.serialize(serializer);
            }
        }
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("output", &self.0)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use provider_sdk::openai::ChatRequest;
    use serde_json::{json, Value};

    fn translate(body: Value) -> Result<Value, String> {
        let text = body.to_string();
        let request = ChatRequest::parse(text.as_bytes()).map_err(|e| e.message.into_string())?;
        let conversation = conversation(&request.messages, "gemini-2.0-flash")
            .map_err(|e| e.message.into_string())?;
        Ok(json!({
            "systemInstruction": conversation.system_instruction.map(|c| serde_json::to_value(c).unwrap()),
            "contents": serde_json::to_value(&conversation.contents).unwrap(),
        }))
    }

    #[test]
    fn every_system_message_is_kept_in_order() {
        let out = translate(json!({"messages": [
            {"role": "system", "content": "You are a mathematician."},
            {"role": "user", "content": "1 + 1?"},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}, {"type": "text", "text": "Be brief."}]},
        ]}))
        .unwrap();
        assert_eq!(
            out["systemInstruction"],
            json!({"parts": [{"text": "You are a mathematician."}, {"text": "Answer in French."}, {"text": "Be brief."}]})
        );
        assert_eq!(
            out["contents"],
            json!([{"role": "user", "parts": [{"text": "1 + 1?"}]}])
        );
    }

    #[test]
    fn gemini_1_0_models_refuse_system_prompts_as_kong_does() {
        let text = json!({"messages": [{"role": "system", "content": "x"}, {"role": "user", "content": "y"}]}).to_string();
        let request = ChatRequest::parse(text.as_bytes()).unwrap();
        let error = conversation(&request.messages, "gemini-1.0-pro").unwrap_err();
        assert_eq!(
            error.message.as_str(),
            "system prompts aren't supported on gemini-1.0 models"
        );
    }

    #[test]
    fn images_become_inline_data_or_file_data() {
        let out = translate(json!({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.WEBP?size=2"}},
            {"type": "image_url", "image_url": {"url": "gs://bucket/dog.png"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/photo"}},
        ]}]}))
        .unwrap();
        assert_eq!(
            out["contents"][0]["parts"],
            json!([
                {"text": "What is this?"},
                {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                {"fileData": {"mimeType": "image/webp", "fileUri": "https://example.com/cat.WEBP?size=2"}},
                {"fileData": {"mimeType": "image/png", "fileUri": "gs://bucket/dog.png"}},
                {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/photo"}},
            ])
        );
    }

    #[test]
    fn tool_calls_keep_their_arguments_and_results_their_function_name() {
        let out = translate(json!({"messages": [
            {"role": "user", "content": "2+12 then *10?"},
            {"role": "assistant", "content": "Let me compute.", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 12}"}},
                {"id": "call_2", "type": "function", "function": {"name": "multiply", "arguments": ""}},
            ]},
            {"role": "tool", "tool_call_id": "call_2", "content": "not yet"},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"sum\": 14}"},
            {"role": "user", "content": "Thanks"},
        ]}))
        .unwrap();
        assert_eq!(
            out["contents"],
            json!([
                {"role": "user", "parts": [{"text": "2+12 then *10?"}]},
                {"role": "model", "parts": [
                    {"text": "Let me compute."},
                    {"functionCall": {"name": "add", "args": {"a": 2, "b": 12}}},
                    {"functionCall": {"name": "multiply", "args": {}}},
                ]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "multiply", "response": {"output": "not yet"}}},
                    {"functionResponse": {"name": "add", "response": {"sum": 14}}},
                    {"text": "Thanks"},
                ]},
            ])
        );
    }

    #[test]
    fn a_thought_signature_in_the_id_goes_back_on_the_part() {
        let id = tool_call_id::encode("call_9", Some("c2lnbmF0dXJl"));
        let out = translate(json!({"messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": id, "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": id, "content": "done"},
        ]}))
        .unwrap();
        assert_eq!(
            out["contents"][1],
            json!({"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "c2lnbmF0dXJl"}]})
        );
        assert_eq!(
            out["contents"][2]["parts"][0]["functionResponse"]["name"],
            "f"
        );
    }

    #[test]
    fn consecutive_turns_of_one_speaker_merge() {
        let out = translate(json!({"messages": [
            {"role": "user", "content": "a"},
            {"role": "user", "content": "b"},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": "c"},
        ]}))
        .unwrap();
        assert_eq!(
            out["contents"],
            json!([{"role": "user", "parts": [{"text": "a"}, {"text": "b"}, {"text": "c"}]}])
        );
    }

    #[test]
    fn what_gemini_cannot_take_is_a_400_naming_the_message() {
        let cases = [
            (
                json!({"messages": [{"role": "tool", "tool_call_id": "call_x", "content": "1"}]}),
                "messages[0]: tool_call_id `call_x` answers no tool call of an earlier assistant message",
            ),
            (
                json!({"messages": [{"role": "tool", "content": "1"}]}),
                "messages[0]: a tool message needs `tool_call_id`",
            ),
            (
                json!({"messages": [{"role": "system", "content": [{"type": "image_url", "image_url": {"url": "https://h/x.png"}}]}]}),
                "messages[0]: system and developer messages may only hold text with provider gemini",
            ),
            (
                json!({"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}]}),
                "messages[0]: content[0]: content parts of type `input_audio` are not supported by provider gemini",
            ),
            (
                json!({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://h/x.png"}}]}]}),
                "messages[0]: content[0]: image_url: must be an http or https URL or a base64 data URL",
            ),
            (
                json!({"messages": [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]}),
                "tool call `c`: function.arguments must be a JSON object",
            ),
        ];
        for (body, message) in cases {
            assert_eq!(translate(body.clone()), Err(message.to_owned()), "{body}");
        }
    }

    #[test]
    fn mime_types_from_extensions() {
        for (url, mime) in [
            ("https://h/a.PNG", "image/png"),
            ("https://h/a.jpeg#x", "image/jpeg"),
            ("https://h/doc.pdf?download=1", "application/pdf"),
            ("https://h/a.gif", "image/gif"),
            ("https://h/dir.png/file", "image/jpeg"),
            ("https://h/", "image/jpeg"),
        ] {
            assert_eq!(guess_mime_type(url), mime, "{url}");
        }
    }
}
