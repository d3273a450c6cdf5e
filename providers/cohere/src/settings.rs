//! `model.options.cohere`: the options only this module reads.
//!
//! ```yaml
//! options:
//!   cohere:
//!     api_version: v1            # v2 (default): /v2/chat and /v2/embed; v1: /v1/chat and /v1/embed
//!     input_type: search_query   # embeddings only; default search_document
//! ```
//!
//! `/v1/generate` has no v2 counterpart, so completions use it whatever the version.

use std::borrow::Cow;

use provider_sdk::abi::ModuleError;
use provider_sdk::options::{is_template, ModelOptions, Templates};

/// The key under `model.options` (registered in provider-sdk's `PROVIDER_SPECIFIC_OPTIONS`).
const OPTIONS_KEY: &str = "cohere";

/// Cohere's `input_type` values for text, as its embed API documents them (`image` is for image
/// inputs, which an OpenAI embeddings request cannot carry).
const INPUT_TYPES: [&str; 4] = [
    "search_document",
    "search_query",
    "classification",
    "clustering",
];

/// Embeddings are mostly made to index documents for search; embeddings of search queries have
/// to be asked for.
const DEFAULT_INPUT_TYPE: &str = "search_document";

/// Which generation of Cohere's chat and embed APIs a route calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    V1,
    V2,
}

/// The `cohere` options of one route, defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings<'a> {
    pub api_version: ApiVersion,
    pub input_type: Cow<'a, str>,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CohereOptions<'a> {
    #[serde(default, borrow)]
    api_version: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    input_type: Option<Cow<'a, str>>,
}

impl<'a> Settings<'a> {
    /// Reads `options.cohere`. With [`Templates::Unresolved`] (config load) a templated value is
    /// accepted as it is and checked on each request once the gateway has resolved it.
    pub fn read(
        options: &ModelOptions<'a>,
        templates: Templates,
    ) -> Result<Settings<'a>, ModuleError> {
        let section: CohereOptions<'a> = options
            .provider_specific_as(OPTIONS_KEY)?
            .unwrap_or_default();
        let unresolved = |value: &str| templates == Templates::Unresolved && is_template(value);
        let api_version = match section.api_version.as_deref() {
            None | Some("v2") => ApiVersion::V2,
            Some("v1") => ApiVersion::V1,
            Some(template) if unresolved(template) => ApiVersion::V2,
            Some(_) => return Err(invalid("api_version", "must be one of v1, v2")),
        };
        let input_type = section
            .input_type
            .unwrap_or(Cow::Borrowed(DEFAULT_INPUT_TYPE));
        if !INPUT_TYPES.contains(&input_type.as_ref()) && !unresolved(&input_type) {
            return Err(invalid(
                "input_type",
                &format!("must be one of {}", INPUT_TYPES.join(", ")),
            ));
        }
        Ok(Settings {
            api_version,
            input_type,
        })
    }
}

fn invalid(key: &str, problem: &str) -> ModuleError {
    ModuleError::invalid_request(format!("{OPTIONS_KEY}.{key}: {problem}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str, templates: Templates) -> Result<Settings<'_>, ModuleError> {
        let options = ModelOptions::parse(json, templates)?;
        Settings::read(&options, templates)
    }

    #[test]
    fn defaults_are_v2_and_search_document() {
        let settings = read("{}", Templates::Resolved).unwrap();
        assert_eq!(settings.api_version, ApiVersion::V2);
        assert_eq!(settings.input_type, "search_document");
    }

    #[test]
    fn both_options_are_read() {
        let settings = read(
            r#"{"cohere":{"api_version":"v1","input_type":"search_query"}}"#,
            Templates::Resolved,
        )
        .unwrap();
        assert_eq!(settings.api_version, ApiVersion::V1);
        assert_eq!(settings.input_type, "search_query");
    }

    #[test]
    fn bad_values_name_the_option() {
        let cases = [
            (
                r#"{"cohere":{"api_version":"v3"}}"#,
                "cohere.api_version: must be one of v1, v2",
            ),
            (
                r#"{"cohere":{"input_type":"image"}}"#,
                "cohere.input_type: must be one of search_document, search_query, classification, clustering",
            ),
        ];
        for (json, message) in cases {
            assert_eq!(
                read(json, Templates::Resolved)
                    .unwrap_err()
                    .message
                    .as_str(),
                message
            );
        }
        let unknown = read(r#"{"cohere":{"version":"v1"}}"#, Templates::Resolved).unwrap_err();
        assert!(
            unknown
                .message
                .starts_with("cohere: unknown field `version`"),
            "{unknown}"
        );
        let not_an_object = read(r#"{"cohere":"v1"}"#, Templates::Resolved).unwrap_err();
        assert!(not_an_object.message.starts_with("cohere: invalid type"));
    }

    #[test]
    fn templates_wait_until_they_are_resolved() {
        let json =
            r#"{"cohere":{"api_version":"$(headers.x-version)","input_type":"$(query_params.t)"}}"#;
        assert!(read(json, Templates::Unresolved).is_ok());
        assert!(read(json, Templates::Resolved).is_err());
    }
}
