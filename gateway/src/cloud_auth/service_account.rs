//! A GCP service account key (the JSON file Google issues), read once at load, and the RS256 JWT
//! assertion it signs to ask the account's `token_uri` for an OAuth access token (Google's
//! "OAuth 2.0 for server to server applications" flow, RFC 7523).
//!
//! Nothing here puts the private key into a message: errors name the field at fault and, for
//! JSON syntax, the line and column, never a value.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use serde_json::{json, Value};

/// The scope Vertex AI needs.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// How long an assertion is valid: Google's maximum.
const ASSERTION_LIFETIME_SECS: u64 = 3600;

const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

pub struct ServiceAccount {
    client_email: String,
    token_uri: String,
    private_key_id: Option<String>,
    key: RsaKeyPair,
    rng: SystemRandom,
}

impl fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .field("private_key_id", &self.private_key_id)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

fn string_field<'a>(account: &'a Value, name: &str) -> Result<Option<&'a str>, String> {
    match account.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("field '{name}' must be a string")),
    }
}

fn required<'a>(account: &'a Value, name: &str) -> Result<&'a str, String> {
    string_field(account, name)?.ok_or_else(|| format!("field '{name}' is missing"))
}

/// The DER bytes of a PKCS#8 PEM key, which is the form Google issues.
fn pkcs8_der(pem: &str) -> Result<Vec<u8>, String> {
    let body = pem
        .trim()
        .strip_prefix(PEM_BEGIN)
        .and_then(|rest| rest.strip_suffix(PEM_END))
        .ok_or_else(|| format!("field 'private_key' is not a PKCS#8 PEM key ({PEM_BEGIN})"))?;
    let base64: String = body.split_ascii_whitespace().collect();
    STANDARD
        .decode(base64)
        .map_err(|_| "field 'private_key' is not valid base64 between its PEM lines".to_string())
}

fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl ServiceAccount {
    /// Reads a service account key file's JSON.
    pub fn parse(json: &str) -> Result<ServiceAccount, String> {
        let account: Value = serde_json::from_str(json)
            .map_err(|e| format!("not valid JSON (line {}, column {})", e.line(), e.column()))?;
        if !account.is_object() {
            return Err("not a JSON object".to_string());
        }
        if let Some(kind) = string_field(&account, "type")? {
            if kind != "service_account" {
                return Err(format!(
                    "field 'type' is '{kind}'; only 'service_account' keys are supported"
                ));
            }
        }
        let client_email = required(&account, "client_email")?.to_string();
        let token_uri = required(&account, "token_uri")?.to_string();
        if !(token_uri.starts_with("https://") || token_uri.starts_with("http://"))
            || token_uri.parse::<actix_web::http::Uri>().is_err()
        {
            return Err("field 'token_uri' is not an http(s) URL".to_string());
        }
        let private_key_id = string_field(&account, "private_key_id")?.map(str::to_owned);
        let der = pkcs8_der(required(&account, "private_key")?)?;
        let key = RsaKeyPair::from_pkcs8(&der).map_err(|e| {
            format!("field 'private_key' is not an RSA key ring can sign with: {e}")
        })?;
        Ok(ServiceAccount {
            client_email,
            token_uri,
            private_key_id,
            key,
            rng: SystemRandom::new(),
        })
    }

    pub fn token_uri(&self) -> &str {
        &self.token_uri
    }

    /// The signed JWT to exchange for an access token, issued at `now` (seconds since the Unix
    /// epoch).
    pub fn assertion(&self, now: u64) -> Result<String, String> {
        let mut header = json!({ "alg": "RS256", "typ": "JWT" });
        if let Some(kid) = &self.private_key_id {
            header["kid"] = json!(kid);
        }
        let claims = json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now.saturating_add(ASSERTION_LIFETIME_SECS),
        });
        let signing_input = format!(
            "{}.{}",
            base64url(header.to_string().as_bytes()),
            base64url(claims.to_string().as_bytes())
        );
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "cannot sign the service account assertion".to_string())?;
        Ok(format!("{signing_input}.{}", base64url(&signature)))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};

    use super::*;

    pub const TEST_KEY: &str = include_str!("../../testdata/gcp-test-key.pem");
    const TEST_PUBLIC_KEY: &str = include_str!("../../testdata/gcp-test-key.pub.pem");

    /// A service account JSON holding the test key, whose token endpoint is `token_uri`.
    pub fn account_json(token_uri: &str) -> String {
        json!({
            "type": "service_account",
            "project_id": "test-project",
            "private_key_id": "test-key-id",
            "private_key": TEST_KEY,
            "client_email": "gateway@test-project.iam.gserviceaccount.com",
            "client_id": "1234567890",
            "token_uri": token_uri,
        })
        .to_string()
    }

    /// The DER `RSAPublicKey` of the test key pair, from its own PEM file.
    fn public_key_der() -> Vec<u8> {
        let body: String = TEST_PUBLIC_KEY
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        STANDARD.decode(body).unwrap()
    }

    fn decode_part(part: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    /// Checks `jwt`'s RS256 signature with the test public key and returns its header and claims.
    pub fn verify(jwt: &str) -> (Value, Value) {
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3, "{jwt}");
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        let signed = format!("{}.{}", parts[0], parts[1]);
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key_der())
            .verify(signed.as_bytes(), &signature)
            .expect("the assertion's signature verifies with the public key");
        (decode_part(parts[0]), decode_part(parts[1]))
    }

    #[test]
    fn the_assertion_is_an_rs256_jwt_with_googles_claims() {
        let account = ServiceAccount::parse(&account_json("https://oauth2.example/token")).unwrap();
        let (header, claims) = verify(&account.assertion(1_700_000_000).unwrap());
        assert_eq!(
            header,
            json!({ "alg": "RS256", "typ": "JWT", "kid": "test-key-id" })
        );
        assert_eq!(
            claims,
            json!({
                "iss": "gateway@test-project.iam.gserviceaccount.com",
                "scope": "https://www.googleapis.com/auth/cloud-platform",
                "aud": "https://oauth2.example/token",
                "iat": 1_700_000_000u64,
                "exp": 1_700_003_600u64,
            })
        );
    }

    #[test]
    fn a_tampered_assertion_does_not_verify() {
        let account = ServiceAccount::parse(&account_json("https://oauth2.example/token")).unwrap();
        let jwt = account.assertion(1_700_000_000).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        let other_claims = base64url(br#"{"iss":"someone-else"}"#);
        let signed = format!("{}.{other_claims}", parts[0]);
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert!(
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key_der())
                .verify(signed.as_bytes(), &signature)
                .is_err()
        );
    }

    #[test]
    fn the_key_id_header_is_left_out_when_the_key_has_none() {
        let mut account: Value =
            serde_json::from_str(&account_json("https://oauth2.example/token")).unwrap();
        account.as_object_mut().unwrap().remove("private_key_id");
        let account = ServiceAccount::parse(&account.to_string()).unwrap();
        let (header, _) = verify(&account.assertion(1).unwrap());
        assert_eq!(header, json!({ "alg": "RS256", "typ": "JWT" }));
    }

    #[test]
    fn errors_name_the_field_and_never_show_the_key() {
        let with = |patch: Value| {
            let mut account: Value =
                serde_json::from_str(&account_json("https://oauth2.example/token")).unwrap();
            for (k, v) in patch.as_object().unwrap() {
                if v.is_null() {
                    account.as_object_mut().unwrap().remove(k);
                } else {
                    account[k] = v.clone();
                }
            }
            ServiceAccount::parse(&account.to_string()).unwrap_err()
        };
        assert_eq!(
            with(json!({ "client_email": null })),
            "field 'client_email' is missing"
        );
        assert_eq!(
            with(json!({ "token_uri": "ftp://x" })),
            "field 'token_uri' is not an http(s) URL"
        );
        assert_eq!(
            with(json!({ "type": "authorized_user" })),
            "field 'type' is 'authorized_user'; only 'service_account' keys are supported"
        );
        let truncated = &TEST_KEY[..TEST_KEY.len() / 2];
        let error = with(json!({ "private_key": truncated }));
        assert!(error.starts_with("field 'private_key' is not"), "{error}");
        let garbled = TEST_KEY.replace('A', "B");
        let error = with(json!({ "private_key": garbled }));
        assert!(error.starts_with("field 'private_key' is not"), "{error}");
        assert!(!error.contains("MII"), "{error}");

        let broken = account_json("https://oauth2.example/token").replace("\"type\"", "type");
        let error = ServiceAccount::parse(&broken).unwrap_err();
        assert!(
            error.starts_with("not valid JSON (line 1, column"),
            "{error}"
        );
        assert!(!error.contains("MII"), "{error}");
    }

    #[test]
    fn debug_output_hides_the_private_key() {
        let account = ServiceAccount::parse(&account_json("https://oauth2.example/token")).unwrap();
        let debug = format!("{account:?}");
        assert!(debug.contains("gateway@test-project"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
        assert!(!debug.contains("MII"), "{debug}");
    }
}
