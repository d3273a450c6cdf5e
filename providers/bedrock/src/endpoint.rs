//! Where a request goes: `https://bedrock-runtime.{region}.amazonaws.com/model/{modelId}/{operation}`,
//! signed for service `bedrock` in the route's region.
//!
//! - The model id is one URI label, percent-encoded as boto3 encodes it: every byte but RFC 3986's
//!   unreserved characters, so `us.amazon.nova-micro-v1:0` goes out as `us.amazon.nova-micro-v1%3A0`
//!   and the `/` of an ARN as `%2F`. A model id cannot steer the request to another path.
//! - `upstream_url` replaces the origin (a VPC endpoint, a test double). A path in it is a prefix the
//!   operation's path follows, so that chat, streamed chat and embeddings still reach their
//!   operations. The gateway signs for the host actually sent.
//! - `upstream_path` (deprecated in Kong) is only meaningful for `preserve`: elsewhere the path is
//!   chosen per request by model and streaming, and a fixed one would send a stream to `converse`.
//! - The region is `bedrock.aws_region`. When a config leaves it empty, the gateway fills it at load
//!   from `AWS_REGION`, `AWS_DEFAULT_REGION` or the AWS profile, so here it is always set.

use std::borrow::Cow;

use provider_sdk::abi::{ModuleError, RequestPlan, RequestSigning};
use provider_sdk::options::{is_template, required, ModelOptions, Templates};
use provider_sdk::url::split_absolute;

use crate::PROVIDER;

/// The signing name of Bedrock's runtime API (its endpoint prefix is `bedrock-runtime`).
const SIGNING_NAME: &str = "bedrock";

/// A Bedrock Runtime operation that acts on a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Converse,
    ConverseStream,
    InvokeModel,
}

impl Operation {
    fn path(self) -> &'static str {
        match self {
            Operation::Converse => "converse",
            Operation::ConverseStream => "converse-stream",
            Operation::InvokeModel => "invoke",
        }
    }
}

/// A route's Bedrock endpoint, read from its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint<'o> {
    region: &'o str,
    origin: Cow<'o, str>,
    /// The path of `upstream_url`, without a trailing `/`; empty for the regional endpoint.
    base_path: &'o str,
    upstream_path: Option<&'o str>,
}

impl<'o> Endpoint<'o> {
    /// Reads and checks the endpoint options. At config load (`Templates::Unresolved`) a templated
    /// value is checked only once a request has resolved it.
    pub fn from_options(
        options: &'o ModelOptions<'_>,
        templates: Templates,
    ) -> Result<Endpoint<'o>, ModuleError> {
        let region = required(&options.bedrock.aws_region, "bedrock.aws_region", PROVIDER)?;
        let unresolved = |value: &str| templates == Templates::Unresolved && is_template(value);
        if !unresolved(region) && !is_region(region) {
            return Err(ModuleError::invalid_request(format!(
                "bedrock.aws_region: `{region}` is not an AWS region name such as us-west-2"
            )));
        }
        let (origin, base_path) = match options.upstream_url.as_deref() {
            Some(url) if unresolved(url) => (Cow::Borrowed(url), ""),
            Some(url) => {
                let (origin, path) = split_absolute(url).ok_or_else(|| {
                    ModuleError::invalid_request(
                        "upstream_url: must be an absolute http or https URL",
                    )
                })?;
                (Cow::Borrowed(origin), path.trim_end_matches('/'))
            }
            None => (
                Cow::Owned(format!("https://bedrock-runtime.{region}.amazonaws.com")),
                "",
            ),
        };
        Ok(Endpoint {
            region,
            origin,
            base_path,
            upstream_path: options.upstream_path.as_deref(),
        })
    }

    /// Refuses `upstream_path` on routes whose path is chosen per request.
    pub fn check_fixed_path_unused(&self) -> Result<(), ModuleError> {
        match self.upstream_path {
            Some(_) => Err(ModuleError::invalid_request(format!(
                "upstream_path: only applies to preserve routes with provider {PROVIDER}: the \
                 path depends on the model and on streaming; set upstream_url for another endpoint"
            ))),
            None => Ok(()),
        }
    }

    /// `…/model/{modelId}/{operation}`.
    pub fn model_url(&self, model: &str, operation: Operation) -> Result<String, ModuleError> {
        if model.is_empty() {
            return Err(ModuleError::invalid_request(format!(
                "model: provider {PROVIDER} needs a model id: configure model.name or send `model`"
            )));
        }
        let mut url = String::with_capacity(self.origin.len() + model.len() * 3 + 32);
        url.push_str(&self.origin);
        url.push_str(self.base_path);
        url.push_str("/model/");
        push_label(&mut url, model);
        url.push('/');
        url.push_str(operation.path());
        Ok(url)
    }

    /// A `preserve` request: the client's path (or `upstream_path`) and query on this origin.
    pub fn preserve_url(&self, plan: &RequestPlan<'_>) -> String {
        let path = match (self.upstream_path, plan.client_path.as_str()) {
            (Some(path), _) => path,
            (None, "") => "/",
            (None, path) => path,
        };
        let query = plan.client_query.as_str();
        let mut url = format!("{}{}{path}", self.origin, self.base_path);
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        url
    }

    /// What the gateway signs the request for.
    pub fn signing(&self) -> RequestSigning {
        RequestSigning {
            scheme: "aws-sigv4".into(),
            service: SIGNING_NAME.into(),
            region: self.region.into(),
        }
    }
}

/// AWS region names: lowercase letters, digits and `-` (`us-west-2`, `us-gov-east-1`). Anything
/// else would change the regional host name.
fn is_region(region: &str) -> bool {
    !region.is_empty()
        && !region.starts_with('-')
        && !region.ends_with('-')
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Appends `value` percent-encoded as one URI label, as botocore's `percent_encode` does.
fn push_label(url: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            url.push(char::from(byte));
        } else {
            url.push('%');
            url.push(char::from(HEX[usize::from(byte >> 4)]));
            url.push(char::from(HEX[usize::from(byte & 0x0F)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(options: &str, check: impl FnOnce(Result<Endpoint<'_>, ModuleError>)) {
        let options = ModelOptions::parse(options, Templates::Resolved).unwrap();
        check(Endpoint::from_options(&options, Templates::Resolved));
    }

    #[test]
    fn model_ids_are_encoded_as_boto3_encodes_them() {
        endpoint(r#"{"bedrock":{"aws_region":"us-west-2"}}"#, |e| {
            let e = e.unwrap();
            assert_eq!(
                e.model_url("us.amazon.nova-micro-v1:0", Operation::Converse)
                    .unwrap(),
                "https://bedrock-runtime.us-west-2.amazonaws.com/model/us.amazon.nova-micro-v1%3A0/converse"
            );
            assert_eq!(
                e.model_url(
                    "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0",
                    Operation::ConverseStream
                )
                .unwrap(),
                "https://bedrock-runtime.us-west-2.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream"
            );
            assert_eq!(
                e.model_url("../x?y#z é", Operation::InvokeModel).unwrap(),
                "https://bedrock-runtime.us-west-2.amazonaws.com/model/..%2Fx%3Fy%23z%20%C3%A9/invoke"
            );
            assert_eq!(
                e.model_url("", Operation::Converse).unwrap_err().status,
                400
            );
        });
    }

    #[test]
    fn upstream_url_replaces_the_origin_and_prefixes_the_path() {
        endpoint(
            r#"{"bedrock":{"aws_region":"eu-west-1"},"upstream_url":"http://127.0.0.1:9000/proxy/?x=1"}"#,
            |e| {
                let e = e.unwrap();
                assert_eq!(
                    e.model_url("amazon.titan-embed-text-v2:0", Operation::InvokeModel)
                        .unwrap(),
                    "http://127.0.0.1:9000/proxy/model/amazon.titan-embed-text-v2%3A0/invoke"
                );
                assert_eq!(e.signing().region.as_str(), "eu-west-1");
                assert_eq!(e.signing().service.as_str(), "bedrock");
            },
        );
    }

    #[test]
    fn regions_must_be_region_names() {
        for bad in ["us-west-2.evil.com", "US-WEST-2", "", "-x", "a/b"] {
            let options = format!(r#"{{"bedrock":{{"aws_region":"{bad}"}}}}"#);
            endpoint(&options, |e| {
                assert_eq!(e.unwrap_err().status, 400, "{bad}")
            });
        }
        endpoint("{}", |e| {
            assert_eq!(
                e.unwrap_err().message.as_str(),
                "bedrock.aws_region: must be set for the bedrock provider"
            )
        });
    }
}
