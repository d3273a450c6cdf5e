//! Cloud authentication that the gateway performs itself, because provider modules are sans-IO
//! and never see a secret: AWS SigV4 signing when a module's upstream request asks for it, and a
//! GCP service account's OAuth token when a route sets `auth.gcp_use_service_account`.
//!
//! What can be done once is done when the configuration loads, per route
//! ([`RouteCloudAuth::load`]): credentials found, the service account key parsed, the token cache
//! created. A route whose keys or service account are wrong does not load. Per request,
//! [`RouteCloudAuth::apply`] runs last, over the request exactly as it will be sent.

mod aws_credentials;
mod gcp_token;
mod ini;
mod service_account;
mod sigv4;
#[cfg(test)]
mod test_support;

use std::time::SystemTime;

use actix_web::http::header::{self, HeaderValue};
use provider_sdk::abi::{ModuleError, RequestSigning};

pub use aws_credentials::{from_environment, resolve_region, AwsCredentials, CredentialSource};

use crate::config::AiProxyConfig;
use crate::errors::GatewayError;
use gcp_token::GcpTokenSource;
use service_account::ServiceAccount;

/// Looks up an environment variable (in production, `|name| std::env::var(name).ok()`).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The signing scheme a module names in `UpstreamRequest.signing`.
pub const AWS_SIGV4: &str = "aws-sigv4";

/// Headers of a signature the client may have made for its own request (a boto3 client calling
/// a native Bedrock route). The gateway's signature replaces them: a client's session token or
/// payload hash left beside it would make AWS reject the request.
const CLIENT_SIGNATURE_HEADERS: &[&str] = &[
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

/// A route's cloud credentials, built once at load.
#[derive(Debug)]
pub struct RouteCloudAuth {
    /// The credentials to sign with, or why there are none. Signing is asked for per request,
    /// so a route without credentials still loads; only its signed requests fail.
    aws: Result<AwsCredentials, String>,
    gcp: Option<GcpTokenSource>,
}

impl RouteCloudAuth {
    /// `ambient_aws` is [`from_environment`], read once per load for the routes that have no
    /// keys of their own. Errors name the config field at fault.
    pub fn load(
        config: &AiProxyConfig,
        ambient_aws: &Result<AwsCredentials, String>,
        env: Env,
    ) -> Result<RouteCloudAuth, Vec<String>> {
        let path = &config.config_path;
        let mut errors = Vec::new();
        let aws = match aws_credentials::from_config(&config.auth) {
            Ok(Some(own)) => Ok(own),
            Ok(None) => ambient_aws.clone(),
            Err(e) => {
                errors.push(format!("{path}.auth: {e}"));
                Err(e)
            }
        };
        let gcp = if config.auth.gcp_use_service_account {
            match service_account(config, env) {
                Ok(account) => Some(GcpTokenSource::new(account, gcp_token::system_clock())),
                Err(e) => {
                    errors.push(format!("{path}.auth.{e}"));
                    None
                }
            }
        } else {
            None
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        // Bedrock routes always sign: say at start-up which keys they will use, or why they
        // have none, rather than only when the first request fails.
        if config.model.provider == "bedrock" {
            match &aws {
                Ok(credentials) => tracing::info!(
                    "{path}: signs with AWS access key {} from {}",
                    credentials.credentials().access_key_id(),
                    credentials.source()
                ),
                Err(why) => tracing::warn!(
                    "{path}: a bedrock route without AWS credentials ({why}); its requests will fail"
                ),
            }
        }
        Ok(RouteCloudAuth { aws, gcp })
    }

    /// Authenticates the finished upstream request: sets the GCP bearer token when the route
    /// uses a service account, then signs when the module asked for a signature, so that the
    /// signature covers every header sent. `client` is the worker's client for the route's
    /// service, used for token exchanges.
    pub async fn apply(
        &self,
        route: &str,
        signing: Option<&RequestSigning>,
        client: &awc::Client,
        request: &mut awc::ClientRequest,
        body: &[u8],
    ) -> Result<(), GatewayError> {
        if let Some(gcp) = &self.gcp {
            let authorization = gcp.authorization(client).await?;
            request
                .headers_mut()
                .insert(header::AUTHORIZATION, authorization);
        }
        let Some(signing) = signing else {
            return Ok(());
        };
        if signing.scheme.as_str() != AWS_SIGV4 {
            return Err(GatewayError::from_module(ModuleError::module_failure(
                format!(
                    "provider module asks for {} request signing, which this gateway does not do",
                    signing.scheme
                ),
            )));
        }
        let credentials = self.aws.as_ref().map_err(|why| {
            GatewayError::internal(format!("no AWS credentials for route {route}: {why}"))
        })?;
        sign(credentials, signing, request, body, SystemTime::now())
    }
}

/// The route's service account: `auth.gcp_service_account_json`, else the `GCP_SERVICE_ACCOUNT`
/// environment variable. Errors start with the field's name under `auth`.
fn service_account(config: &AiProxyConfig, env: Env) -> Result<ServiceAccount, String> {
    if let Some(json) = config
        .auth
        .gcp_service_account_json
        .as_deref()
        .filter(|j| !j.trim().is_empty())
    {
        return ServiceAccount::parse(json)
            .map_err(|e| format!("gcp_service_account_json: not a service account key: {e}"));
    }
    let json = env("GCP_SERVICE_ACCOUNT")
        .filter(|j| !j.trim().is_empty())
        .ok_or_else(|| {
            "gcp_use_service_account: true, but neither auth.gcp_service_account_json nor the \
             GCP_SERVICE_ACCOUNT environment variable holds a service account key"
                .to_string()
        })?;
    ServiceAccount::parse(&json).map_err(|e| {
        format!(
            "gcp_use_service_account: the GCP_SERVICE_ACCOUNT environment variable is not a service account key: {e}"
        )
    })
}

/// Signs `request` with SigV4 at `time` and adds the signature's headers. The `Host` header is
/// set to the value signed, so that what is sent is what was signed.
fn sign(
    credentials: &AwsCredentials,
    signing: &RequestSigning,
    request: &mut awc::ClientRequest,
    body: &[u8],
    time: SystemTime,
) -> Result<(), GatewayError> {
    if signing.service.is_empty() || signing.region.is_empty() {
        return Err(GatewayError::from_module(ModuleError::module_failure(
            "provider module asks for aws-sigv4 signing without a service or region",
        )));
    }
    let uri = request.get_uri().clone();
    let host = sigv4::host_header(&uri)
        .and_then(|h| HeaderValue::try_from(h).ok())
        .ok_or_else(|| GatewayError::internal("the upstream URL has no host to sign for"))?;
    let method = request.get_method().clone();
    let url = uri.to_string();
    let headers = request.headers_mut();
    for name in CLIENT_SIGNATURE_HEADERS {
        headers.remove(*name);
    }
    headers.insert(header::HOST, host);
    let signature = {
        // Headers whose values are not visible ASCII cannot be canonicalised; they are sent
        // unsigned, which SigV4 allows.
        let to_sign: Vec<(&str, &str)> = headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
            .collect();
        sigv4::sign_request(
            credentials,
            &sigv4::Scope {
                service: &signing.service,
                region: &signing.region,
                time,
            },
            &sigv4::Request {
                method: method.as_str(),
                url: &url,
                headers: &to_sign,
                body,
            },
        )
        .map_err(GatewayError::internal)?
    };
    for (name, value) in signature {
        headers.insert(name, value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use serde_json::{json, Value};

    use super::*;
    use provider_sdk::abi::RouteType;

    use crate::config::{
        AuthConfig, LlmFormat, LoggingConfig, ModelConfig, StreamingPolicy,
        DEFAULT_MAX_REQUEST_BODY_SIZE,
    };

    fn config(provider: &str, auth: AuthConfig) -> AiProxyConfig {
        AiProxyConfig {
            instance_name: None,
            plugin_id: None,
            route_type: RouteType::CHAT,
            auth,
            model: ModelConfig::new(provider.to_string(), Some("m".into()), json!({})),
            logging: LoggingConfig::default(),
            response_streaming: StreamingPolicy::default(),
            max_request_body_size: DEFAULT_MAX_REQUEST_BODY_SIZE,
            model_name_header: true,
            llm_format: LlmFormat::default(),
            config_path: "services[0].routes[0].plugins[0].config".to_string(),
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn ambient() -> Result<AwsCredentials, String> {
        Ok(AwsCredentials::new(
            "AKIDAMBIENT",
            "ambient-secret",
            None,
            CredentialSource::Environment,
        ))
    }

    fn access_key_id(route: &RouteCloudAuth) -> &str {
        route.aws.as_ref().unwrap().credentials().access_key_id()
    }

    fn signing(scheme: &str) -> RequestSigning {
        RequestSigning {
            scheme: scheme.into(),
            service: "bedrock".into(),
            region: "us-west-2".into(),
        }
    }

    #[test]
    fn a_routes_own_keys_win_over_the_environments() {
        let own = AuthConfig {
            aws_access_key_id: Some("AKIDOWN".into()),
            aws_secret_access_key: Some("own-secret".into()),
            ..AuthConfig::default()
        };
        let route = RouteCloudAuth::load(&config("bedrock", own), &ambient(), &no_env).unwrap();
        assert_eq!(access_key_id(&route), "AKIDOWN");
        let route = RouteCloudAuth::load(
            &config("bedrock", AuthConfig::default()),
            &ambient(),
            &no_env,
        )
        .unwrap();
        assert_eq!(access_key_id(&route), "AKIDAMBIENT");
        assert!(route.gcp.is_none());
    }

    #[test]
    fn half_a_key_pair_in_the_config_does_not_load() {
        let half = AuthConfig {
            aws_access_key_id: Some("AKIDOWN".into()),
            ..AuthConfig::default()
        };
        let errors =
            RouteCloudAuth::load(&config("bedrock", half), &ambient(), &no_env).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with(
                "services[0].routes[0].plugins[0].config.auth: auth.aws_access_key_id is set without"
            ),
            "{errors:?}"
        );
    }

    #[test]
    fn a_route_without_aws_credentials_loads_and_knows_why() {
        let route = RouteCloudAuth::load(
            &config("bedrock", AuthConfig::default()),
            &Err("no AWS credentials anywhere".into()),
            &no_env,
        )
        .unwrap();
        assert_eq!(route.aws.unwrap_err(), "no AWS credentials anywhere");
    }

    fn gcp(json: Option<String>) -> AuthConfig {
        AuthConfig {
            gcp_use_service_account: true,
            gcp_service_account_json: json,
            ..AuthConfig::default()
        }
    }

    fn account() -> String {
        service_account::tests::account_json("https://oauth2.example/token")
    }

    #[test]
    fn the_service_account_comes_from_the_config_else_the_environment() {
        let route =
            RouteCloudAuth::load(&config("gemini", gcp(Some(account()))), &ambient(), &no_env)
                .unwrap();
        assert!(route.gcp.is_some());

        let from_env = |name: &str| (name == "GCP_SERVICE_ACCOUNT").then(account);
        let route =
            RouteCloudAuth::load(&config("gemini", gcp(None)), &ambient(), &from_env).unwrap();
        assert!(route.gcp.is_some());

        let errors =
            RouteCloudAuth::load(&config("gemini", gcp(None)), &ambient(), &no_env).unwrap_err();
        assert_eq!(
            errors,
            vec![
                "services[0].routes[0].plugins[0].config.auth.gcp_use_service_account: true, but \
                  neither auth.gcp_service_account_json nor the GCP_SERVICE_ACCOUNT environment \
                  variable holds a service account key"
                    .to_string()
            ]
        );
    }

    #[test]
    fn a_bad_service_account_does_not_load_and_its_key_is_not_shown() {
        let mut bad: Value = serde_json::from_str(&account()).unwrap();
        bad["client_email"] = Value::Null;
        let errors = RouteCloudAuth::load(
            &config("gemini", gcp(Some(bad.to_string()))),
            &ambient(),
            &no_env,
        )
        .unwrap_err();
        assert_eq!(
            errors,
            vec![
                "services[0].routes[0].plugins[0].config.auth.gcp_service_account_json: not a \
                  service account key: field 'client_email' is missing"
                    .to_string()
            ]
        );
        let debug = format!(
            "{:?}",
            RouteCloudAuth::load(&config("gemini", gcp(Some(account()))), &ambient(), &no_env)
        );
        assert!(!debug.contains("PRIVATE KEY"), "{debug}");
        assert!(!debug.contains("ambient-secret"), "{debug}");
    }

    /// The first botocore vector, as awc would send it.
    #[test]
    fn a_request_is_signed_as_awc_sends_it_and_equal_to_botocores_signature() {
        actix_rt::System::new().block_on(async {
            let vectors: Value =
                serde_json::from_str(include_str!("../../testdata/sigv4-botocore.json")).unwrap();
            let case = &vectors["cases"][0];
            let credentials = AwsCredentials::new(
                case["access_key_id"].as_str().unwrap(),
                case["secret_access_key"].as_str().unwrap(),
                None,
                CredentialSource::Config,
            );
            let client = awc::Client::default();
            let mut request = client
                .post(case["url"].as_str().unwrap())
                .insert_header(("content-type", "application/json"))
                .insert_header(("accept", "application/json"))
                // A client's own signature headers must not survive next to the gateway's.
                .insert_header(("authorization", "AWS4-HMAC-SHA256 Credential=CLIENT"))
                .insert_header(("x-amz-security-token", "client-token"))
                .insert_header(("x-amz-date", "20000101T000000Z"));
            let time = UNIX_EPOCH + Duration::from_secs(case["unix_time"].as_u64().unwrap());
            sign(
                &credentials,
                &signing(AWS_SIGV4),
                &mut request,
                case["body"].as_str().unwrap().as_bytes(),
                time,
            )
            .unwrap();
            let headers = request.headers();
            assert_eq!(
                headers.get("authorization").unwrap(),
                case["expected"]["authorization"].as_str().unwrap()
            );
            assert_eq!(headers.get("x-amz-date").unwrap(), "20240115T120000Z");
            assert_eq!(
                headers.get("host").unwrap(),
                "bedrock-runtime.us-west-2.amazonaws.com"
            );
            assert!(headers.get("x-amz-security-token").is_none());
        });
    }

    #[test]
    fn unknown_schemes_and_missing_credentials_are_refused_without_secrets() {
        actix_rt::System::new().block_on(async {
            let client = awc::Client::default();
            let route = RouteCloudAuth::load(
                &config("signing-test", AuthConfig::default()),
                &ambient(),
                &no_env,
            )
            .unwrap();
            let mut request = client.post("http://127.0.0.1:1/model/x/converse");
            let error = route
                .apply("r", Some(&signing("gcp-magic")), &client, &mut request, b"{}")
                .await
                .unwrap_err();
            assert_eq!(error.status.as_u16(), 502);
            assert!(error.message.contains("gcp-magic"), "{}", error.message);

            let empty_scope = RequestSigning {
                region: "".into(),
                ..signing(AWS_SIGV4)
            };
            let error = route
                .apply("r", Some(&empty_scope), &client, &mut request, b"{}")
                .await
                .unwrap_err();
            assert_eq!(error.status.as_u16(), 502);

            let without = RouteCloudAuth::load(
                &config("signing-test", AuthConfig::default()),
                &Err("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".into()),
                &no_env,
            )
            .unwrap();
            let error = without
                .apply("r", Some(&signing(AWS_SIGV4)), &client, &mut request, b"{}")
                .await
                .unwrap_err();
            assert_eq!(error.status.as_u16(), 500);
            assert_eq!(
                error.message,
                "no AWS credentials for route r: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"
            );

            // Without signing or a service account, the request is left as it is.
            let mut untouched = client.post("http://127.0.0.1:1/v1/chat/completions");
            route
                .apply("r", None, &client, &mut untouched, b"{}")
                .await
                .unwrap();
            assert!(untouched.headers().is_empty());
        });
    }
}
