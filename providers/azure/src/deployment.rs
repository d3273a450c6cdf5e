//! Where an Azure OpenAI request goes: `https://{azure_instance}.openai.azure.com/openai/
//! deployments/{azure_deployment_id}/{chat/completions|completions|embeddings}?api-version=…`.
//!
//! The API version is `azure_api_version` (default `2023-05-15`, as in Kong) unless the client's
//! query sets `api-version`, which wins. Instance, deployment and version may come from templates
//! the client fills, so each must be one plain URL segment before it is put in a URL.

use std::borrow::Cow;

use provider_sdk::abi::ModuleError;
use provider_sdk::openai_compatible::{CompatibleUpstream, RoutePaths};
use provider_sdk::options::{is_template, required, ModelOptions, Templates};
use provider_sdk::url::{is_safe_segment, query_param};

use crate::PROVIDER;

/// Kong's default `azure_api_version`.
pub const DEFAULT_API_VERSION: &str = "2023-05-15";

/// The first API version whose chat and completions accept `stream_options`; earlier ones answer
/// 400 to it, so the gateway only asks for the usage chunk from this version on.
const FIRST_VERSION_WITH_STREAM_USAGE: &str = "2024-08-01";

const ROUTE_PATHS: RoutePaths = RoutePaths {
    chat: Some("/chat/completions"),
    completions: Some("/completions"),
    embeddings: Some("/embeddings"),
};

/// An Azure OpenAI deployment, from the route's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment<'o> {
    pub instance: &'o str,
    pub deployment_id: &'o str,
    pub api_version: &'o str,
}

impl<'o> Deployment<'o> {
    /// Reads and checks the Azure options. With [`Templates::Unresolved`] a templated value is
    /// checked once resolved, per request.
    pub fn from_options(
        options: &'o ModelOptions<'_>,
        templates: Templates,
    ) -> Result<Deployment<'o>, ModuleError> {
        let deployment = Deployment {
            instance: required(&options.azure_instance, "azure_instance", PROVIDER)?,
            deployment_id: required(
                &options.azure_deployment_id,
                "azure_deployment_id",
                PROVIDER,
            )?,
            api_version: options
                .azure_api_version
                .as_deref()
                .unwrap_or(DEFAULT_API_VERSION),
        };
        for (name, value) in [
            ("azure_instance", deployment.instance),
            ("azure_deployment_id", deployment.deployment_id),
            ("azure_api_version", deployment.api_version),
        ] {
            let checked_later = templates == Templates::Unresolved && is_template(value);
            if !checked_later && !is_safe_segment(value) {
                return Err(ModuleError::invalid_request(format!(
                    "{name}: must be a plain name (letters, digits, '-', '_' and '.'), not {value:?}"
                )));
            }
        }
        Ok(deployment)
    }

    /// The OpenAI-compatible upstream for a request whose raw query string is `client_query`.
    pub fn upstream(&self, client_query: &str) -> CompatibleUpstream<'o> {
        let api_version = query_param(client_query, "api-version").unwrap_or(self.api_version);
        CompatibleUpstream {
            path_prefix: Cow::Owned(format!("/openai/deployments/{}", self.deployment_id)),
            route_paths: ROUTE_PATHS,
            default_query: vec![("api-version", Cow::Borrowed(self.api_version))],
            stream_usage: accepts_stream_options(api_version),
            ..CompatibleUpstream::new(
                PROVIDER,
                Some(Cow::Owned(format!(
                    "https://{}.openai.azure.com",
                    self.instance
                ))),
            )
        }
    }
}

/// Whether API version `version` (`YYYY-MM-DD`, optionally `-preview`) takes `stream_options`.
/// A version that is not a date is assumed not to, so that requests keep working; their streams
/// are then metered only when the client asks for usage itself.
fn accepts_stream_options(version: &str) -> bool {
    let is_date = |date: &str| {
        date.len() == 10
            && date.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            })
    };
    version
        .get(..10)
        .is_some_and(|date| is_date(date) && date >= FIRST_VERSION_WITH_STREAM_USAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(json: &str) -> ModelOptions<'_> {
        ModelOptions::parse(json, Templates::Resolved).unwrap()
    }

    #[test]
    fn reads_the_deployment_with_kongs_default_version() {
        let options = options(r#"{"azure_instance":"001-kong-t","azure_deployment_id":"gpt-4"}"#);
        assert_eq!(
            Deployment::from_options(&options, Templates::Resolved).unwrap(),
            Deployment {
                instance: "001-kong-t",
                deployment_id: "gpt-4",
                api_version: "2023-05-15"
            }
        );
    }

    #[test]
    fn required_options_are_named() {
        let missing_instance = options(r#"{"azure_deployment_id":"d"}"#);
        assert_eq!(
            Deployment::from_options(&missing_instance, Templates::Resolved)
                .unwrap_err()
                .message
                .as_str(),
            "azure_instance: must be set for the azure provider"
        );
        let missing_deployment = options(r#"{"azure_instance":"i"}"#);
        assert_eq!(
            Deployment::from_options(&missing_deployment, Templates::Resolved)
                .unwrap_err()
                .message
                .as_str(),
            "azure_deployment_id: must be set for the azure provider"
        );
    }

    #[test]
    fn values_that_would_change_the_url_are_refused() {
        for (json, name) in [
            (
                r#"{"azure_instance":"evil.com#","azure_deployment_id":"d"}"#,
                "azure_instance",
            ),
            (
                r#"{"azure_instance":"i","azure_deployment_id":"../../x"}"#,
                "azure_deployment_id",
            ),
            (
                r#"{"azure_instance":"i","azure_deployment_id":"d","azure_api_version":"1&x=y"}"#,
                "azure_api_version",
            ),
            (
                r#"{"azure_instance":"user@host","azure_deployment_id":"d"}"#,
                "azure_instance",
            ),
        ] {
            let options = options(json);
            let error = Deployment::from_options(&options, Templates::Resolved).unwrap_err();
            assert_eq!(error.status, 400);
            assert!(
                error
                    .message
                    .starts_with(&format!("{name}: must be a plain name")),
                "{error}"
            );
        }
    }

    #[test]
    fn templates_are_checked_when_resolved() {
        let text = r#"{"azure_instance":"$(headers.x-instance)","azure_deployment_id":"$(uri_captures.dep)"}"#;
        let options = ModelOptions::parse(text, Templates::Unresolved).unwrap();
        assert!(Deployment::from_options(&options, Templates::Unresolved).is_ok());
        assert!(Deployment::from_options(&options, Templates::Resolved).is_err());
    }

    #[test]
    fn stream_options_only_from_the_first_version_that_takes_them() {
        for version in ["2024-08-01-preview", "2024-10-21", "2025-04-01-preview"] {
            assert!(accepts_stream_options(version), "{version}");
        }
        for version in [
            "2023-05-15",
            "2024-06-01",
            "2024-07-01-preview",
            "latest",
            "v1",
            "",
            "2024-1x-01",
        ] {
            assert!(!accepts_stream_options(version), "{version}");
        }
    }

    #[test]
    fn the_clients_api_version_decides_stream_usage() {
        let options = options(r#"{"azure_instance":"i","azure_deployment_id":"d"}"#);
        let deployment = Deployment::from_options(&options, Templates::Resolved).unwrap();
        assert!(!deployment.upstream("").stream_usage);
        assert!(deployment.upstream("api-version=2024-10-21").stream_usage);
        let newer = super::tests::options(
            r#"{"azure_instance":"i","azure_deployment_id":"d","azure_api_version":"2024-10-21"}"#,
        );
        let deployment = Deployment::from_options(&newer, Templates::Resolved).unwrap();
        assert!(deployment.upstream("").stream_usage);
        assert!(!deployment.upstream("api-version=2024-02-01").stream_usage);
    }
}
