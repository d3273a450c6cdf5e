//! Kong's `$(source.key)` templates in `config.model`, resolved per request.
//!
//! Every string under `config.model` except `provider` may hold one expression; `source` is
//! `headers` (a request header), `uri_captures` (a named capture of the route's regex path) or
//! `query_params` (the first value of a query parameter). Only the first `$(…)` of a string is
//! replaced, and the text around it is kept: `https://$(uri_captures.region).example.com`.
//! Errors carry Kong's exact messages; the gateway answers them with 400.

use std::borrow::Cow;

use serde_json::Value;

use crate::config::ModelConfig;

const EXPRESSION_OPEN: &str = "$(";
const EXPRESSION_CLOSE: char = ')';

/// Read access to the request's headers.
pub trait RequestHeaders {
    /// The value of header `name`, compared without regard to case. `None` when the request does
    /// not have it or its value is not text.
    fn header(&self, name: &str) -> Option<&str>;
}

impl RequestHeaders for [(&str, &str)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| *value)
    }
}

impl RequestHeaders for actix_web::http::header::HeaderMap {
    fn header(&self, name: &str) -> Option<&str> {
        self.get(name)?.to_str().ok()
    }
}

/// What templates can read from one request. Borrowed, so building one costs nothing.
pub struct TemplateContext<'a, H: RequestHeaders + ?Sized> {
    pub headers: &'a H,
    /// The named captures of the matched regex path.
    pub uri_captures: &'a [(String, String)],
    /// The raw query string, without the `?`.
    pub query: &'a str,
}

/// `model` with its templates resolved for one request. Borrows `model` when it has none, which
/// was worked out when the configuration loaded.
pub fn resolve_model<'m, H: RequestHeaders + ?Sized>(
    model: &'m ModelConfig,
    context: &TemplateContext<'_, H>,
) -> Result<Cow<'m, ModelConfig>, String> {
    if !model.has_templates() {
        return Ok(Cow::Borrowed(model));
    }
    let name = model
        .name
        .as_deref()
        .map(|name| resolve_string(name, context))
        .transpose()?;
    let options = resolve_value(&model.options, context)?;
    Ok(Cow::Owned(ModelConfig::resolved(
        model.provider.clone(),
        name,
        options,
    )))
}

/// Whether `text` holds a `$(…)` expression that a request would resolve.
pub fn contains_expression(text: &str) -> bool {
    find_expression(text).is_some()
}

/// The first expression in `text`: the byte range of `$(…)` and the text between the parentheses.
fn find_expression(text: &str) -> Option<(usize, usize, &str)> {
    let start = text.find(EXPRESSION_OPEN)?;
    let inner_start = start + EXPRESSION_OPEN.len();
    let inner_len = text[inner_start..].find(EXPRESSION_CLOSE)?;
    let inner_end = inner_start + inner_len;
    Some((start, inner_end + 1, &text[inner_start..inner_end]))
}

fn resolve_value<H: RequestHeaders + ?Sized>(
    value: &Value,
    context: &TemplateContext<'_, H>,
) -> Result<Value, String> {
    Ok(match value {
        Value::String(text) => Value::String(resolve_string(text, context)?),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| resolve_value(item, context))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, item)| Ok((key.clone(), resolve_value(item, context)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

fn resolve_string<H: RequestHeaders + ?Sized>(
    text: &str,
    context: &TemplateContext<'_, H>,
) -> Result<String, String> {
    let Some((start, end, expression)) = find_expression(text) else {
        return Ok(text.to_owned());
    };
    let (source, key) = match expression.split_once('.') {
        Some((source, key)) if !source.is_empty() && !key.is_empty() && !key.contains('.') => {
            (source, key)
        }
        _ => return Err(format!("cannot parse expression for field '{text}'")),
    };
    let value = match source {
        "headers" => header_value(context.headers, key).map(Cow::Borrowed),
        "uri_captures" => context
            .uri_captures
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| Cow::Borrowed(value.as_str())),
        "query_params" => query_value(context.query, key),
        _ => return Err(format!("source '{source}' is not supported")),
    }
    .ok_or_else(|| format!("{source} key {key} was not provided"))?;
    Ok(format!("{}{value}{}", &text[..start], &text[end..]))
}

/// Kong reads headers through nginx variables, where `-` and `_` are the same character, so
/// `$(headers.x_model)` also finds `X-Model`.
fn header_value<'h, H: RequestHeaders + ?Sized>(headers: &'h H, key: &str) -> Option<&'h str> {
    headers.header(key).or_else(|| {
        key.contains('_')
            .then(|| key.replace('_', "-"))
            .and_then(|dashed| headers.header(&dashed))
    })
}

/// The first value of query parameter `key`, decoded. A parameter written without `=` has the
/// empty value.
fn query_value<'q>(query: &'q str, key: &str) -> Option<Cow<'q, str>> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .find_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name) == key).then(|| percent_decode(value))
        })
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space and `%XX` a byte. A `%` not
/// followed by two hex digits stays as it is; bytes that are not UTF-8 become U+FFFD.
fn percent_decode(text: &str) -> Cow<'_, str> {
    if !text.contains(['%', '+']) {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escaped = match (byte, bytes.get(index + 1..index + 3)) {
            (b'%', Some(&[high, low])) => hex_value(high).zip(hex_value(low)),
            _ => None,
        };
        match (byte, escaped) {
            (_, Some((high, low))) => {
                decoded.push(high << 4 | low);
                index += 3;
            }
            (b'+', None) => {
                decoded.push(b' ');
                index += 1;
            }
            (_, None) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&decoded).into_owned())
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HEADERS: &[(&str, &str)] = &[
        ("from_header_1", "header_value_here_1"),
        ("from_header_2", "header_value_here_2"),
        ("X-Model-Name", "gpt-4o"),
    ];

    fn captures() -> Vec<(String, String)> {
        vec![
            ("uri_cap_1".to_owned(), "cap_value_here_1".to_owned()),
            ("uri_cap_2".to_owned(), "cap_value_here_2".to_owned()),
            ("model".to_owned(), "gemni-2.0-flash".to_owned()),
        ]
    }

    fn resolve(name: Option<&str>, options: Value, query: &str) -> Result<ModelConfig, String> {
        let model = ModelConfig::new("azure".to_owned(), name.map(str::to_owned), options);
        let captures = captures();
        let context = TemplateContext {
            headers: HEADERS,
            uri_captures: &captures,
            query,
        };
        resolve_model(&model, &context).map(Cow::into_owned)
    }

    #[test]
    fn resolves_every_source_including_nested_options() {
        let resolved = resolve(
            Some("$(headers.from_header_1)"),
            json!({
                "max_tokens": 256,
                "temperature": 1.0,
                "azure_instance": "$(uri_captures.uri_cap_1)",
                "azure_deployment_id": "$(headers.from_header_1)",
                "azure_api_version": "$(query_params.arg_1)",
                "upstream_url": "https://$(uri_captures.uri_cap_1).example.com",
                "bedrock": {"aws_region": "$(uri_captures.uri_cap_1)"}
            }),
            "arg_1=arg_value_here_1&arg_2=arg_value_here_2",
        )
        .unwrap();
        assert_eq!(resolved.name.as_deref(), Some("header_value_here_1"));
        assert_eq!(
            resolved.options,
            json!({
                "max_tokens": 256,
                "temperature": 1.0,
                "azure_instance": "cap_value_here_1",
                "azure_deployment_id": "header_value_here_1",
                "azure_api_version": "arg_value_here_1",
                "upstream_url": "https://cap_value_here_1.example.com",
                "bedrock": {"aws_region": "cap_value_here_1"}
            })
        );
        assert_eq!(resolved.provider, "azure");
        assert!(!resolved.has_templates());
    }

    #[test]
    fn model_name_from_a_uri_capture() {
        let resolved = resolve(Some("$(uri_captures.model)"), json!({}), "").unwrap();
        assert_eq!(resolved.name.as_deref(), Some("gemni-2.0-flash"));
    }

    #[test]
    fn a_missing_key_names_its_source_and_key() {
        let top_level = resolve(
            Some("gpt-3.5-turbo"),
            json!({"azure_instance": "$(uri_captures.uri_cap_3)"}),
            "",
        );
        assert_eq!(
            top_level.unwrap_err(),
            "uri_captures key uri_cap_3 was not provided"
        );
        let nested = resolve(
            None,
            json!({"bedrock": {"aws_region": "$(uri_captures.uri_cap_3)"}}),
            "",
        );
        assert_eq!(
            nested.unwrap_err(),
            "uri_captures key uri_cap_3 was not provided"
        );
        let header = resolve(Some("$(headers.absent)"), json!({}), "");
        assert_eq!(header.unwrap_err(), "headers key absent was not provided");
    }

    #[test]
    fn an_expression_without_one_dot_cannot_be_parsed() {
        let error = resolve(
            None,
            json!({"azure_instance": "$(uri_captures_uri_cap_1)"}),
            "",
        );
        assert_eq!(
            error.unwrap_err(),
            "cannot parse expression for field '$(uri_captures_uri_cap_1)'"
        );
        let error = resolve(Some("x-$(headers.a.b)"), json!({}), "");
        assert_eq!(
            error.unwrap_err(),
            "cannot parse expression for field 'x-$(headers.a.b)'"
        );
    }

    #[test]
    fn an_unknown_source_is_not_supported() {
        let error = resolve(Some("$(cookies.session)"), json!({}), "");
        assert_eq!(error.unwrap_err(), "source 'cookies' is not supported");
    }

    #[test]
    fn only_the_first_expression_is_replaced() {
        let resolved = resolve(
            Some("$(headers.from_header_1)/$(headers.from_header_2)"),
            json!({}),
            "",
        )
        .unwrap();
        assert_eq!(
            resolved.name.as_deref(),
            Some("header_value_here_1/$(headers.from_header_2)")
        );
    }

    #[test]
    fn header_names_ignore_case_and_treat_underscore_as_dash() {
        let resolved = resolve(Some("$(headers.x_model_name)"), json!({}), "").unwrap();
        assert_eq!(resolved.name.as_deref(), Some("gpt-4o"));
        let resolved = resolve(Some("$(headers.X-MODEL-NAME)"), json!({}), "").unwrap();
        assert_eq!(resolved.name.as_deref(), Some("gpt-4o"));
    }

    #[test]
    fn query_params_take_the_first_value_decoded() {
        let resolved = resolve(
            Some("$(query_params.model)"),
            json!({"region": "$(query_params.region)", "flag": "$(query_params.flag)"}),
            "model=a%2Fb+c&model=second&region=us-west-2&flag",
        )
        .unwrap();
        assert_eq!(resolved.name.as_deref(), Some("a/b c"));
        assert_eq!(resolved.options, json!({"region": "us-west-2", "flag": ""}));
    }

    #[test]
    fn percent_decoding_keeps_malformed_escapes() {
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
        assert_eq!(percent_decode("%FF"), "\u{FFFD}");
    }

    #[test]
    fn a_model_without_templates_is_borrowed() {
        let plain = ModelConfig::new(
            "openai".to_owned(),
            Some("gpt-4o".to_owned()),
            json!({"temperature": 1.0, "bedrock": {"aws_region": "us-west-2"}}),
        );
        let context = TemplateContext {
            headers: HEADERS,
            uri_captures: &[],
            query: "",
        };
        assert!(!plain.has_templates());
        assert!(matches!(
            resolve_model(&plain, &context),
            Ok(Cow::Borrowed(_))
        ));

        let nested = ModelConfig::new(
            "bedrock".to_owned(),
            None,
            json!({"bedrock": {"aws_region": "$(headers.from_header_1)"}}),
        );
        assert!(nested.has_templates());
        assert!(matches!(
            resolve_model(&nested, &context),
            Ok(Cow::Owned(_))
        ));
    }

    #[test]
    fn an_unclosed_expression_is_plain_text() {
        assert!(!contains_expression("$(headers.x"));
        assert!(contains_expression("a $(headers.x) b"));
    }
}
