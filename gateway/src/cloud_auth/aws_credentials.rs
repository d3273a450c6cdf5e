//! AWS credentials and region for SigV4, found where the AWS SDKs look for them, so that a
//! gateway runs with the same setup as the AWS CLI next to it:
//!
//! 1. the route's `auth.aws_access_key_id` and `auth.aws_secret_access_key`;
//! 2. the environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`;
//! 3. the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`),
//!    profile `AWS_PROFILE`, else `default`.
//!
//! Steps 2 and 3 do not depend on the route, so they are read once per configuration load and
//! shared by every route that has no keys of its own. Reading again means loading again.

use std::fmt;
use std::path::PathBuf;

use aws_credential_types::Credentials;
use serde_json::Value;

use super::ini::Ini;
use super::Env;
use crate::config::AuthConfig;

/// The name aws-credential-types records as the credentials' provider.
const PROVIDER_NAME: &str = "ai-gateway";

/// Where a set of credentials was found, for messages; never the keys themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    Config,
    Environment,
    SharedFile { path: PathBuf, profile: String },
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Config => f.write_str("the route's auth.aws_* settings"),
            CredentialSource::Environment => f.write_str("the environment"),
            CredentialSource::SharedFile { path, profile } => {
                write!(f, "profile '{profile}' of {}", path.display())
            }
        }
    }
}

/// Credentials to sign with. `Debug` shows the access key id and where the credentials came
/// from, never the secret key or the session token.
#[derive(Clone)]
pub struct AwsCredentials {
    credentials: Credentials,
    source: CredentialSource,
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.credentials.access_key_id())
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.credentials.session_token().map(|_| "<redacted>"),
            )
            .field("source", &self.source)
            .finish()
    }
}

impl AwsCredentials {
    pub fn new(
        access_key_id: &str,
        secret_access_key: &str,
        session_token: Option<&str>,
        source: CredentialSource,
    ) -> AwsCredentials {
        AwsCredentials {
            credentials: Credentials::new(
                access_key_id,
                secret_access_key,
                session_token.map(str::to_owned),
                None,
                PROVIDER_NAME,
            ),
            source,
        }
    }

    /// In the form aws-sigv4 signs with.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    pub fn source(&self) -> &CredentialSource {
        &self.source
    }
}

/// The keys in the route's config. `Ok(None)` when it sets neither; one without the other is a
/// mistake worth stopping for, rather than silently signing with the environment's keys instead.
pub fn from_config(auth: &AuthConfig) -> Result<Option<AwsCredentials>, String> {
    let id = auth.aws_access_key_id.as_deref().filter(|s| !s.is_empty());
    let secret = auth
        .aws_secret_access_key
        .as_deref()
        .filter(|s| !s.is_empty());
    match (id, secret) {
        (Some(id), Some(secret)) => Ok(Some(AwsCredentials::new(
            id,
            secret,
            None,
            CredentialSource::Config,
        ))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(
            "auth.aws_access_key_id is set without auth.aws_secret_access_key: set both or neither"
                .to_string(),
        ),
        (None, Some(_)) => Err(
            "auth.aws_secret_access_key is set without auth.aws_access_key_id: set both or neither"
                .to_string(),
        ),
    }
}

/// The environment's credentials, else the shared credentials file's. `Err` says why there are
/// none, for the message of a request that needed them.
pub fn from_environment(env: Env) -> Result<AwsCredentials, String> {
    let var = |name: &str| env(name).filter(|value| !value.is_empty());
    match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => {
            let token = var("AWS_SESSION_TOKEN");
            return Ok(AwsCredentials::new(
                &id,
                &secret,
                token.as_deref(),
                CredentialSource::Environment,
            ));
        }
        // As botocore does: half a key pair in the environment is an error, not a reason to
        // look further.
        (Some(_), None) => {
            return Err("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".to_string())
        }
        (None, Some(_)) => {
            return Err("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not".to_string())
        }
        (None, None) => {}
    }
    from_shared_file(env)
}

fn profile(env: Env) -> String {
    env("AWS_PROFILE")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "default".to_string())
}

/// `$<variable>`, else `~/.aws/<name>`.
fn shared_file_path(env: Env, variable: &str, name: &str) -> Option<PathBuf> {
    if let Some(path) = env(variable).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let home = env("HOME").filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".aws").join(name))
}

fn from_shared_file(env: Env) -> Result<AwsCredentials, String> {
    let path = shared_file_path(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials").ok_or(
        "no AWS credentials in the environment, and no HOME to find ~/.aws/credentials in",
    )?;
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "no AWS credentials in the environment, and {} cannot be read: {e}",
            path.display()
        )
    })?;
    let ini = Ini::parse(&text);
    let profile = profile(env);
    if !ini.has_section(&profile) {
        return Err(format!(
            "no AWS credentials in the environment, and {} has no profile '{profile}'",
            path.display()
        ));
    }
    let (Some(id), Some(secret)) = (
        ini.get(&profile, "aws_access_key_id"),
        ini.get(&profile, "aws_secret_access_key"),
    ) else {
        return Err(format!(
            "profile '{profile}' of {} does not set both aws_access_key_id and aws_secret_access_key",
            path.display()
        ));
    };
    // `aws_security_token` is the older name the AWS CLI still reads.
    let token = ini
        .get(&profile, "aws_session_token")
        .or_else(|| ini.get(&profile, "aws_security_token"));
    Ok(AwsCredentials::new(
        id,
        secret,
        token,
        CredentialSource::SharedFile { path, profile },
    ))
}

/// The region a Bedrock route signs for: `model.options.bedrock.aws_region`, else
/// `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the `region` of the profile (`AWS_PROFILE`, else
/// `default`) in the shared config file (`AWS_CONFIG_FILE`, else `~/.aws/config`). `options` is
/// the route's `model.options`.
pub fn resolve_region(options: &Value, env: Env) -> Option<String> {
    let configured = options
        .pointer("/bedrock/aws_region")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty());
    if let Some(region) = configured {
        return Some(region.to_string());
    }
    let from_env = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|name| env(name).filter(|r| !r.is_empty()));
    if from_env.is_some() {
        return from_env;
    }
    let path = shared_file_path(env, "AWS_CONFIG_FILE", "config")?;
    let ini = Ini::parse(&std::fs::read_to_string(path).ok()?);
    // The config file names profiles `[profile NAME]`, except the default one, which is plain
    // `[default]` (botocore also accepts `[profile default]`).
    let profile = profile(env);
    let named = format!("profile {profile}");
    let section = if profile == "default" && ini.has_section("default") {
        "default"
    } else {
        named.as_str()
    };
    ini.get(section, "region").map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;
    use crate::cloud_auth::test_support::TempPath;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    fn auth(id: Option<&str>, secret: Option<&str>) -> AuthConfig {
        AuthConfig {
            aws_access_key_id: id.map(str::to_owned),
            aws_secret_access_key: secret.map(str::to_owned),
            ..AuthConfig::default()
        }
    }

    fn keys(credentials: &AwsCredentials) -> (&str, &str, Option<&str>) {
        let c = credentials.credentials();
        (c.access_key_id(), c.secret_access_key(), c.session_token())
    }

    const CREDENTIALS_FILE: &str = "\
[default]
aws_access_key_id = AKIDFILE
aws_secret_access_key = file-secret

[work]
aws_access_key_id = AKIDWORK
aws_secret_access_key = work-secret
aws_session_token = work-token

[legacy]
aws_access_key_id = AKIDLEGACY
aws_secret_access_key = legacy-secret
aws_security_token = legacy-token

[half]
aws_access_key_id = AKIDHALF
";

    #[test]
    fn the_routes_keys_come_first_and_must_come_in_pairs() {
        let found = from_config(&auth(Some("AKIDCONF"), Some("conf-secret")))
            .unwrap()
            .unwrap();
        assert_eq!(keys(&found), ("AKIDCONF", "conf-secret", None));
        assert_eq!(found.source(), &CredentialSource::Config);

        assert!(from_config(&auth(None, None)).unwrap().is_none());
        let half = from_config(&auth(Some("AKIDCONF"), None)).unwrap_err();
        assert!(half.contains("auth.aws_secret_access_key"), "{half}");
        let half = from_config(&auth(None, Some("conf-secret"))).unwrap_err();
        assert!(!half.contains("conf-secret"), "{half}");
    }

    #[test]
    fn the_environment_comes_before_the_shared_file() {
        let file = TempPath::file("credentials", CREDENTIALS_FILE);
        let env = env_of(&[
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
            ("AWS_SESSION_TOKEN", "env-token"),
            ("AWS_SHARED_CREDENTIALS_FILE", file.path_str()),
        ]);
        let found = from_environment(&env).unwrap();
        assert_eq!(keys(&found), ("AKIDENV", "env-secret", Some("env-token")));
        assert_eq!(found.source(), &CredentialSource::Environment);
    }

    #[test]
    fn half_a_key_pair_in_the_environment_is_an_error() {
        let file = TempPath::file("credentials", CREDENTIALS_FILE);
        let env = env_of(&[
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SHARED_CREDENTIALS_FILE", file.path_str()),
        ]);
        let why = from_environment(&env).unwrap_err();
        assert!(why.contains("AWS_SECRET_ACCESS_KEY is not"), "{why}");
    }

    #[test]
    fn the_shared_file_gives_the_chosen_profile() {
        let file = TempPath::file("credentials", CREDENTIALS_FILE);
        let default =
            from_environment(&env_of(&[("AWS_SHARED_CREDENTIALS_FILE", file.path_str())])).unwrap();
        assert_eq!(keys(&default), ("AKIDFILE", "file-secret", None));
        assert_eq!(
            default.source(),
            &CredentialSource::SharedFile {
                path: file.path().to_path_buf(),
                profile: "default".into()
            }
        );

        let work = from_environment(&env_of(&[
            ("AWS_SHARED_CREDENTIALS_FILE", file.path_str()),
            ("AWS_PROFILE", "work"),
        ]))
        .unwrap();
        assert_eq!(keys(&work), ("AKIDWORK", "work-secret", Some("work-token")));

        let legacy = from_environment(&env_of(&[
            ("AWS_SHARED_CREDENTIALS_FILE", file.path_str()),
            ("AWS_PROFILE", "legacy"),
        ]))
        .unwrap();
        assert_eq!(
            keys(&legacy),
            ("AKIDLEGACY", "legacy-secret", Some("legacy-token"))
        );
    }

    #[test]
    fn the_shared_file_defaults_to_the_home_directory() {
        let home = TempPath::dir("home");
        std::fs::create_dir(home.path().join(".aws")).unwrap();
        std::fs::write(home.path().join(".aws/credentials"), CREDENTIALS_FILE).unwrap();
        let found = from_environment(&env_of(&[("HOME", home.path_str())])).unwrap();
        assert_eq!(keys(&found), ("AKIDFILE", "file-secret", None));
    }

    #[test]
    fn says_why_there_are_no_credentials() {
        let file = TempPath::file("credentials", CREDENTIALS_FILE);
        let with = |profile: &str| {
            from_environment(&env_of(&[
                ("AWS_SHARED_CREDENTIALS_FILE", file.path_str()),
                ("AWS_PROFILE", profile),
            ]))
            .unwrap_err()
        };
        assert!(with("nope").contains("has no profile 'nope'"));
        assert!(with("half").contains("does not set both"));

        let missing = from_environment(&env_of(&[(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/credentials",
        )]))
        .unwrap_err();
        assert!(missing.contains("/nonexistent/credentials cannot be read"));
        assert!(from_environment(&env_of(&[]))
            .unwrap_err()
            .contains("no HOME"));
    }

    #[test]
    fn debug_output_hides_the_secret_and_the_token() {
        let credentials = AwsCredentials::new(
            "AKIDSHOWN",
            "very-secret-key",
            Some("very-secret-token"),
            CredentialSource::Environment,
        );
        let debug = format!("{credentials:?}");
        assert!(debug.contains("AKIDSHOWN"), "{debug}");
        assert!(!debug.contains("very-secret"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }

    #[test]
    fn region_comes_from_options_then_environment_then_config_file() {
        let config = TempPath::file(
            "config",
            "[default]\nregion = eu-central-1\n[profile work]\nregion = ap-south-1\n",
        );
        let options = json!({ "bedrock": { "aws_region": "us-west-2" } });
        let everything = env_of(&[
            ("AWS_REGION", "us-east-2"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_CONFIG_FILE", config.path_str()),
        ]);
        assert_eq!(
            resolve_region(&options, &everything).as_deref(),
            Some("us-west-2")
        );
        assert_eq!(
            resolve_region(&json!({}), &everything).as_deref(),
            Some("us-east-2")
        );
        let default_only = env_of(&[
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_CONFIG_FILE", config.path_str()),
        ]);
        assert_eq!(
            resolve_region(&json!({ "bedrock": { "aws_region": "" } }), &default_only).as_deref(),
            Some("us-east-1")
        );
        let file_only = env_of(&[("AWS_CONFIG_FILE", config.path_str())]);
        assert_eq!(
            resolve_region(&json!({}), &file_only).as_deref(),
            Some("eu-central-1")
        );
        let work = env_of(&[
            ("AWS_CONFIG_FILE", config.path_str()),
            ("AWS_PROFILE", "work"),
        ]);
        assert_eq!(
            resolve_region(&json!({}), &work).as_deref(),
            Some("ap-south-1")
        );
        assert_eq!(resolve_region(&json!({}), &env_of(&[])), None);
    }

    #[test]
    fn the_default_profile_may_be_written_as_profile_default() {
        let config = TempPath::file("config", "[profile default]\nregion = sa-east-1\n");
        let env = env_of(&[("AWS_CONFIG_FILE", config.path_str())]);
        assert_eq!(
            resolve_region(&json!({}), &env).as_deref(),
            Some("sa-east-1")
        );
    }
}
