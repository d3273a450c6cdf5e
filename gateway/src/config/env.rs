//! `${{ env "NAME" }}` substitution, decK's way of putting secrets in a declarative file.
//!
//! decK pastes each value into the raw text before the YAML is parsed. Pasting a value that holds
//! `: `, `#`, a quote or a newline changes the YAML structure, and an API key can hold any of
//! them. So each template is first replaced by a placeholder that is safe in every YAML scalar
//! style, the YAML is parsed, and only then are the values put into the parsed strings. The one
//! thing the paste decides is the type of a scalar: a plain (unquoted) scalar that is only a
//! template, such as `port: ${{ env "DECK_PORT" }}`, becomes a number, a boolean or null when the
//! value reads as one, as it would after decK's paste. Everything else stays a string.
//!
//! Differences from decK: any variable name is allowed (decK only reads `DECK_*` variables), and
//! lines that are only a comment are left alone, so that a commented-out example does not need
//! its variable.

use serde_json::{Map, Value};

use super::error::ConfigErrors;

const TEMPLATE_START: &str = "${{";
const TEMPLATE_END: &str = "}}";
const PLACEHOLDER_PREFIX: &str = "__ai_gateway_env_";
const PLACEHOLDER_SUFFIX: &str = "__";

/// The file's text with every template replaced by a placeholder, and the values to put back.
pub(crate) struct Substitution {
    pub text: String,
    values: Vec<EnvValue>,
}

struct EnvValue {
    text: String,
    /// Written inside quotes, so decK's paste would always have given a string.
    quoted: bool,
}

/// Replaces the templates in `text` with placeholders and looks up their values. Reports every
/// missing variable and every template it cannot read, with its line.
pub(crate) fn substitute(
    text: &str,
    source_name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Substitution, ConfigErrors> {
    let mut errors = ConfigErrors::default();
    if text.contains(PLACEHOLDER_PREFIX) {
        errors.push(
            "",
            format!("{source_name}: the text '{PLACEHOLDER_PREFIX}' is reserved for the gateway"),
        );
        return Err(errors);
    }
    let mut output = String::with_capacity(text.len());
    let mut values = Vec::new();
    for (line_index, line) in text.split_inclusive('\n').enumerate() {
        if line.trim_start().starts_with('#') {
            output.push_str(line);
            continue;
        }
        let mut rest = line;
        while let Some(start) = rest.find(TEMPLATE_START) {
            output.push_str(&rest[..start]);
            let candidate = &rest[start..];
            let Some((name, template_len)) = read_template(candidate) else {
                errors.push(
                    "",
                    format!(
                        "{source_name}:{}: cannot read template '{}': expected ${{{{ env \"NAME\" }}}}",
                        line_index + 1,
                        template_excerpt(candidate)
                    ),
                );
                output.push_str(TEMPLATE_START);
                rest = &candidate[TEMPLATE_START.len()..];
                continue;
            };
            match env(name) {
                Some(value) => {
                    let before = output.chars().next_back();
                    let after = candidate[template_len..].chars().next();
                    let quoted = [before, after]
                        .iter()
                        .any(|side| matches!(side, Some('"' | '\'')));
                    output.push_str(&placeholder(values.len()));
                    values.push(EnvValue {
                        text: value,
                        quoted,
                    });
                }
                None => errors.push(
                    "",
                    format!(
                        "{source_name}:{}: environment variable '{name}' is not set",
                        line_index + 1
                    ),
                ),
            }
            rest = &candidate[template_len..];
        }
        output.push_str(rest);
    }
    if errors.is_empty() {
        Ok(Substitution {
            text: output,
            values,
        })
    } else {
        Err(errors)
    }
}

impl Substitution {
    /// Puts the values back into the parsed document, in place of their placeholders.
    pub fn restore(&self, document: Value) -> Value {
        if self.values.is_empty() {
            return document;
        }
        self.restore_value(document)
    }

    fn restore_value(&self, value: Value) -> Value {
        match value {
            Value::String(text) => self.restore_scalar(text),
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|item| self.restore_value(item))
                    .collect(),
            ),
            Value::Object(fields) => Value::Object(
                fields
                    .into_iter()
                    .map(|(key, item)| (self.restore_text(&key), self.restore_value(item)))
                    .collect::<Map<String, Value>>(),
            ),
            other => other,
        }
    }

    fn restore_scalar(&self, text: String) -> Value {
        if let Some(value) = parse_placeholder(&text)
            .filter(|(_, len)| *len == text.len())
            .and_then(|(index, _)| self.values.get(index))
        {
            if !value.quoted {
                if let Some(typed) = plain_scalar(&value.text) {
                    return typed;
                }
            }
            return Value::String(value.text.clone());
        }
        if text.contains(PLACEHOLDER_PREFIX) {
            Value::String(self.restore_text(&text))
        } else {
            Value::String(text)
        }
    }

    fn restore_text(&self, text: &str) -> String {
        let mut restored = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find(PLACEHOLDER_PREFIX) {
            restored.push_str(&rest[..start]);
            let candidate = &rest[start..];
            match parse_placeholder(candidate)
                .and_then(|(index, len)| self.values.get(index).map(|value| (value, len)))
            {
                Some((value, len)) => {
                    restored.push_str(&value.text);
                    rest = &candidate[len..];
                }
                None => {
                    restored.push_str(PLACEHOLDER_PREFIX);
                    rest = &candidate[PLACEHOLDER_PREFIX.len()..];
                }
            }
        }
        restored.push_str(rest);
        restored
    }
}

/// Reads the `${{ env "NAME" }}` at the start of `text`: the variable's name and the template's
/// length.
fn read_template(text: &str) -> Option<(&str, usize)> {
    let inside = text.strip_prefix(TEMPLATE_START)?.trim_start();
    let after_env = inside.strip_prefix("env")?;
    if !after_env.starts_with(char::is_whitespace) {
        return None;
    }
    let quoted_name = after_env.trim_start().strip_prefix('"')?;
    let name_len = quoted_name.find('"')?;
    let name = &quoted_name[..name_len];
    let after_close = quoted_name[name_len + 1..]
        .trim_start()
        .strip_prefix(TEMPLATE_END)?;
    if name.is_empty() {
        return None;
    }
    Some((name, text.len() - after_close.len()))
}

fn placeholder(index: usize) -> String {
    format!("{PLACEHOLDER_PREFIX}{index}{PLACEHOLDER_SUFFIX}")
}

/// The index of the placeholder at the start of `text`, and the placeholder's length.
fn parse_placeholder(text: &str) -> Option<(usize, usize)> {
    let digits = text.strip_prefix(PLACEHOLDER_PREFIX)?;
    let digit_count = digits.bytes().take_while(u8::is_ascii_digit).count();
    if digit_count == 0 || !digits[digit_count..].starts_with(PLACEHOLDER_SUFFIX) {
        return None;
    }
    let index = digits[..digit_count].parse().ok()?;
    Some((
        index,
        PLACEHOLDER_PREFIX.len() + digit_count + PLACEHOLDER_SUFFIX.len(),
    ))
}

/// What YAML makes of `text` as a plain scalar, when that is not a string.
fn plain_scalar(text: &str) -> Option<Value> {
    if text.contains('\n') {
        return None;
    }
    match serde_norway::from_str::<Value>(text) {
        Ok(value @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => Some(value),
        _ => None,
    }
}

/// The start of an unreadable template, for its error message.
fn template_excerpt(text: &str) -> &str {
    let end = text
        .find(TEMPLATE_END)
        .map(|close| close + TEMPLATE_END.len())
        .unwrap_or_else(|| text.find('\n').unwrap_or(text.len()));
    text[..end].trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    fn load(
        text: &str,
        pairs: &'static [(&'static str, &'static str)],
    ) -> Result<Value, ConfigErrors> {
        let substitution = substitute(text, "test.yaml", &env_of(pairs))?;
        let document: Value = serde_norway::from_str(&substitution.text).unwrap();
        Ok(substitution.restore(document))
    }

    #[test]
    fn a_template_inside_a_plain_scalar_keeps_the_rest_of_the_scalar() {
        let document = load(
            "header_value: Bearer ${{ env \"DECK_KEY\" }}\n",
            &[("DECK_KEY", "sk-123")],
        )
        .unwrap();
        assert_eq!(document, json!({"header_value": "Bearer sk-123"}));
    }

    #[test]
    fn values_holding_yaml_syntax_stay_one_string() {
        let document = load(
            "a: Bearer ${{ env \"K\" }}\nb: \"${{ env \"K\" }}\"\nc: ${{ env \"K\" }}\n",
            &[("K", "x: y # z\n- 'q\"")],
        )
        .unwrap();
        let expected = "x: y # z\n- 'q\"";
        assert_eq!(
            document,
            json!({"a": format!("Bearer {expected}"), "b": expected, "c": expected})
        );
    }

    #[test]
    fn whitespace_inside_the_braces_is_flexible() {
        let document = load(
            "a: ${{env   \"K\"}}\nb: ${{  env \"K\"   }}\n",
            &[("K", "v")],
        )
        .unwrap();
        assert_eq!(document, json!({"a": "v", "b": "v"}));
    }

    #[test]
    fn a_plain_scalar_that_is_only_a_template_is_typed_like_decks_paste() {
        let document = load(
            "port: ${{ env \"PORT\" }}\nquoted: '${{ env \"PORT\" }}'\nflag: ${{ env \"FLAG\" }}\n",
            &[("PORT", "8080"), ("FLAG", "true")],
        )
        .unwrap();
        assert_eq!(
            document,
            json!({"port": 8080, "quoted": "8080", "flag": true})
        );
    }

    #[test]
    fn missing_variables_are_all_reported_with_their_lines() {
        let errors = load(
            "a: 1\nb: ${{ env \"ONE\" }}\nc: x ${{ env \"TWO\" }}\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(
            errors.to_string(),
            "test.yaml:2: environment variable 'ONE' is not set\n\
             test.yaml:3: environment variable 'TWO' is not set"
        );
    }

    #[test]
    fn an_unreadable_template_is_an_error_not_a_literal_secret() {
        let errors = load("a: ${{ env DECK_KEY }}\n", &[("DECK_KEY", "v")]).unwrap_err();
        assert_eq!(
            errors.to_string(),
            "test.yaml:1: cannot read template '${{ env DECK_KEY }}': expected ${{ env \"NAME\" }}"
        );
    }

    #[test]
    fn comment_lines_are_not_substituted() {
        let document = load(
            "# header_value: Bearer ${{ env \"OPENAI_API_KEY\" }}\na: 1\n",
            &[],
        )
        .unwrap();
        assert_eq!(document, json!({"a": 1}));
    }

    #[test]
    fn templates_in_keys_are_substituted() {
        let document = load("${{ env \"K\" }}: 1\n", &[("K", "name")]).unwrap();
        assert_eq!(document, json!({"name": 1}));
    }

    #[test]
    fn the_placeholder_text_is_reserved() {
        let errors = load("a: __ai_gateway_env_0__\n", &[]).unwrap_err();
        assert_eq!(
            errors.to_string(),
            "test.yaml: the text '__ai_gateway_env_' is reserved for the gateway"
        );
    }
}
