//! OAuth access tokens for a GCP service account: the signed assertion is exchanged at the
//! account's `token_uri`, and the token is kept in a moka cache until five minutes before it
//! expires. The cache is shared by every worker, and a refresh is single-flight: moka runs one
//! computation per key at a time, and a request that waited for another's refresh finds the new
//! token and does not exchange again.
//!
//! The token is a bearer credential: it lives only in a sensitive `HeaderValue`, which `Debug`
//! does not print, and no error message includes it.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::http::header::{self, HeaderValue};
use moka::future::Cache;
use moka::ops::compute::Op;
use serde_json::Value;

use super::service_account::ServiceAccount;
use crate::errors::GatewayError;

/// How long before its expiry a token is replaced, so that none expires on its way upstream.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// The lifetime assumed when the token endpoint does not say (Google's tokens last an hour).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// The longest lifetime believed, so that a wrong `expires_in` can neither keep a token for ever
/// nor overflow the clock.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The most of a token endpoint's answer the gateway reads.
const MAX_RESPONSE: usize = 64 * 1024;

/// The most of a token endpoint's error description quoted in a message.
const MAX_ERROR_DETAIL: usize = 200;

const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The time, injectable so that tests can move it.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(SystemTime::now)
}

struct CachedToken {
    /// `Bearer <token>`, marked sensitive.
    authorization: HeaderValue,
    refresh_at: SystemTime,
}

pub struct GcpTokenSource {
    account: ServiceAccount,
    /// One entry at most: the route's current token.
    cache: Cache<(), Arc<CachedToken>>,
    clock: Clock,
}

impl fmt::Debug for GcpTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcpTokenSource")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// When a token obtained at `obtained` and valid for `lifetime` should be replaced: five minutes
/// before it expires, or halfway through a lifetime shorter than ten minutes, so that a short-lived
/// token is still reused.
fn refresh_time(obtained: SystemTime, lifetime: Duration) -> SystemTime {
    let lifetime = lifetime.min(MAX_LIFETIME);
    let reuse_for = lifetime - REFRESH_MARGIN.min(lifetime / 2);
    obtained.checked_add(reuse_for).unwrap_or(obtained)
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `error: error_description` from an OAuth error answer (RFC 6749 §5.2), shortened. Only these
/// two fields are quoted: they describe the failure and carry no credential.
fn oauth_error(body: &[u8]) -> String {
    let Ok(answer) = serde_json::from_slice::<Value>(body) else {
        return "no OAuth error in the answer".to_string();
    };
    let field = |name: &str| answer.get(name).and_then(Value::as_str).unwrap_or_default();
    let detail = match (field("error"), field("error_description")) {
        ("", "") => return "no OAuth error in the answer".to_string(),
        (error, "") => error.to_string(),
        (error, description) => format!("{error}: {description}"),
    };
    detail.chars().take(MAX_ERROR_DETAIL).collect()
}

impl GcpTokenSource {
    pub fn new(account: ServiceAccount, clock: Clock) -> GcpTokenSource {
        GcpTokenSource {
            account,
            cache: Cache::builder().max_capacity(1).build(),
            clock,
        }
    }

    /// The `Authorization` value to send, from the cache or from a new exchange through `client`.
    pub async fn authorization(&self, client: &awc::Client) -> Result<HeaderValue, GatewayError> {
        if let Some(token) = self.cache.get(&()).await {
            if (self.clock)() < token.refresh_at {
                return Ok(token.authorization.clone());
            }
        }
        let outcome = self
            .cache
            .entry(())
            .and_try_compute_with(|current| async move {
                // Another request may have refreshed the token while this one waited its turn.
                match current {
                    Some(entry) if (self.clock)() < entry.value().refresh_at => Ok(Op::Nop),
                    _ => self.exchange(client).await.map(|t| Op::Put(Arc::new(t))),
                }
            })
            .await?;
        outcome
            .into_entry()
            .map(|entry| entry.value().authorization.clone())
            .ok_or_else(|| GatewayError::internal("the GCP token cache lost its token"))
    }

    async fn exchange(&self, client: &awc::Client) -> Result<CachedToken, GatewayError> {
        let uri = self.account.token_uri();
        let host = crate::upstream::host_of(uri);
        let obtained = (self.clock)();
        let assertion = self
            .account
            .assertion(unix_seconds(obtained))
            .map_err(GatewayError::internal)?;
        let form = format!(
            "grant_type={}&assertion={assertion}",
            crate::auth::percent_encode(GRANT_TYPE)
        );
        let mut response = client
            .post(uri)
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .insert_header((header::ACCEPT, "application/json"))
            .send_body(form)
            .await
            .map_err(|e| match e {
                awc::error::SendRequestError::Timeout => GatewayError::timeout(format!(
                    "the GCP token endpoint {host} did not answer in time"
                )),
                other => GatewayError::unreachable(format!(
                    "cannot reach the GCP token endpoint {host}: {other}"
                )),
            })?;
        let body = response.body().limit(MAX_RESPONSE).await.map_err(|e| {
            GatewayError::unreachable(format!(
                "the GCP token endpoint {host} broke off its answer: {e}"
            ))
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(GatewayError::unreachable(format!(
                "the GCP token endpoint {host} refused the service account's assertion with HTTP {}: {}",
                status.as_u16(),
                oauth_error(&body)
            )));
        }
        let answer: Value = serde_json::from_slice(&body).map_err(|_| {
            GatewayError::unreachable(format!(
                "the GCP token endpoint {host} answered with something that is not JSON"
            ))
        })?;
        let token = answer
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                GatewayError::unreachable(format!(
                    "the GCP token endpoint {host} answered without an access_token"
                ))
            })?;
        let mut authorization = HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| {
            GatewayError::unreachable(format!(
                "the GCP token endpoint {host} answered with an access_token that cannot go in a header"
            ))
        })?;
        authorization.set_sensitive(true);
        let lifetime = answer
            .get("expires_in")
            .and_then(Value::as_u64)
            .map_or(DEFAULT_LIFETIME, Duration::from_secs);
        Ok(CachedToken {
            authorization,
            refresh_at: refresh_time(obtained, lifetime),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;

    use actix_web::{web, App, HttpResponse, HttpServer};
    use serde_json::json;

    use super::*;
    use crate::cloud_auth::service_account::tests::{account_json, verify};
    use crate::cloud_auth::service_account::SCOPE;

    const START: u64 = 1_700_000_000;

    /// A token endpoint on 127.0.0.1 that answers `token-<n>` to its n-th exchange, with the
    /// configured `expires_in`, and records each form it received.
    #[derive(Clone)]
    struct TokenEndpoint {
        forms: Arc<Mutex<Vec<String>>>,
        expires_in: u64,
        status: u16,
    }

    impl TokenEndpoint {
        fn new(expires_in: u64) -> TokenEndpoint {
            TokenEndpoint {
                forms: Arc::default(),
                expires_in,
                status: 200,
            }
        }

        fn exchanges(&self) -> usize {
            self.forms.lock().unwrap().len()
        }

        /// Starts the endpoint on the current actix system; returns its token URI.
        fn start(&self) -> String {
            let endpoint = self.clone();
            let server = HttpServer::new(move || {
                let endpoint = endpoint.clone();
                App::new().route(
                    "/token",
                    web::post().to(move |body: web::Bytes| {
                        let endpoint = endpoint.clone();
                        async move {
                            let mut forms = endpoint.forms.lock().unwrap();
                            forms.push(String::from_utf8(body.to_vec()).unwrap());
                            let status =
                                actix_web::http::StatusCode::from_u16(endpoint.status).unwrap();
                            if !status.is_success() {
                                return HttpResponse::build(status).json(json!({
                                    "error": "invalid_grant",
                                    "error_description": "Invalid JWT Signature.",
                                }));
                            }
                            HttpResponse::Ok().json(json!({
                                "access_token": format!("token-{}", forms.len()),
                                "expires_in": endpoint.expires_in,
                                "token_type": "Bearer",
                            }))
                        }
                    }),
                )
            })
            .workers(1)
            .bind(("127.0.0.1", 0))
            .unwrap();
            let addr = server.addrs()[0];
            actix_rt::spawn(server.run());
            format!("http://{addr}/token")
        }
    }

    /// A clock at `START` that the test moves.
    fn test_clock() -> (Clock, Arc<AtomicU64>) {
        let now = Arc::new(AtomicU64::new(START));
        let reading = now.clone();
        let clock: Clock =
            Arc::new(move || UNIX_EPOCH + Duration::from_secs(reading.load(Ordering::SeqCst)));
        (clock, now)
    }

    fn source(token_uri: &str, clock: Clock) -> GcpTokenSource {
        GcpTokenSource::new(
            ServiceAccount::parse(&account_json(token_uri)).unwrap(),
            clock,
        )
    }

    fn form_field<'a>(form: &'a str, name: &str) -> &'a str {
        form.split('&')
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
            .unwrap()
    }

    fn run<F: std::future::Future>(test: F) -> F::Output {
        actix_rt::System::new().block_on(test)
    }

    #[test]
    fn exchanges_a_verified_assertion_for_a_bearer_token() {
        run(async {
            let endpoint = TokenEndpoint::new(3600);
            let uri = endpoint.start();
            let (clock, _) = test_clock();
            let tokens = source(&uri, clock);
            let client = awc::Client::default();

            let authorization = tokens.authorization(&client).await.unwrap();
            assert_eq!(authorization, "Bearer token-1");
            assert!(authorization.is_sensitive());

            let forms = endpoint.forms.lock().unwrap().clone();
            assert_eq!(forms.len(), 1);
            assert_eq!(
                form_field(&forms[0], "grant_type"),
                "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
            );
            let (header, claims) = verify(form_field(&forms[0], "assertion"));
            assert_eq!(header["kid"], "test-key-id");
            assert_eq!(claims["aud"], uri.as_str());
            assert_eq!(
                claims["iss"],
                "gateway@test-project.iam.gserviceaccount.com"
            );
            assert_eq!(claims["scope"], SCOPE);
            assert_eq!(claims["iat"], START);
            assert_eq!(claims["exp"], START + 3600);
        });
    }

    #[test]
    fn the_token_is_reused_until_five_minutes_before_it_expires() {
        run(async {
            let endpoint = TokenEndpoint::new(3600);
            let uri = endpoint.start();
            let (clock, now) = test_clock();
            let tokens = source(&uri, clock);
            let client = awc::Client::default();

            assert_eq!(
                tokens.authorization(&client).await.unwrap(),
                "Bearer token-1"
            );
            assert_eq!(
                tokens.authorization(&client).await.unwrap(),
                "Bearer token-1"
            );
            now.store(START + 3299, Ordering::SeqCst);
            assert_eq!(
                tokens.authorization(&client).await.unwrap(),
                "Bearer token-1"
            );
            assert_eq!(endpoint.exchanges(), 1);

            now.store(START + 3300, Ordering::SeqCst);
            assert_eq!(
                tokens.authorization(&client).await.unwrap(),
                "Bearer token-2"
            );
            assert_eq!(
                tokens.authorization(&client).await.unwrap(),
                "Bearer token-2"
            );
            assert_eq!(endpoint.exchanges(), 2);
            let forms = endpoint.forms.lock().unwrap().clone();
            let (_, claims) = verify(form_field(&forms[1], "assertion"));
            assert_eq!(claims["iat"], START + 3300);
        });
    }

    #[test]
    fn a_short_lived_token_is_reused_for_half_its_lifetime() {
        run(async {
            let endpoint = TokenEndpoint::new(60);
            let uri = endpoint.start();
            let (clock, now) = test_clock();
            let tokens = source(&uri, clock);
            let client = awc::Client::default();

            assert_eq!(
                tokens.authorization(&client).await.unwrap(),
                "Bearer token-1"
            );
            now.store(START + 29, Ordering::SeqCst);
            assert_eq!(
                tokens.authorization(&client).await.unwrap(),
                "Bearer token-1"
            );
            now.store(START + 30, Ordering::SeqCst);
            assert_eq!(
                tokens.authorization(&client).await.unwrap(),
                "Bearer token-2"
            );
        });
    }

    #[test]
    fn concurrent_requests_share_one_exchange() {
        run(async {
            let endpoint = TokenEndpoint::new(3600);
            let uri = endpoint.start();
            let (clock, now) = test_clock();
            let tokens = source(&uri, clock);
            let client = awc::Client::default();

            let all =
                futures_util::future::join_all((0..8).map(|_| tokens.authorization(&client))).await;
            for authorization in all {
                assert_eq!(authorization.unwrap(), "Bearer token-1");
            }
            assert_eq!(endpoint.exchanges(), 1);

            now.store(START + 3600, Ordering::SeqCst);
            let all =
                futures_util::future::join_all((0..8).map(|_| tokens.authorization(&client))).await;
            for authorization in all {
                assert_eq!(authorization.unwrap(), "Bearer token-2");
            }
            assert_eq!(endpoint.exchanges(), 2);
        });
    }

    #[test]
    fn a_refused_exchange_is_a_502_that_quotes_only_the_oauth_error() {
        run(async {
            let mut endpoint = TokenEndpoint::new(3600);
            endpoint.status = 400;
            let uri = endpoint.start();
            let (clock, _) = test_clock();
            let tokens = source(&uri, clock);
            let client = awc::Client::default();

            let error = tokens.authorization(&client).await.unwrap_err();
            assert_eq!(error.status.as_u16(), 502);
            assert!(
                error
                    .message
                    .ends_with("with HTTP 400: invalid_grant: Invalid JWT Signature."),
                "{}",
                error.message
            );
            let forms = endpoint.forms.lock().unwrap().clone();
            let assertion = form_field(&forms[0], "assertion");
            assert!(!error.message.contains(assertion));
            assert!(!error.message.contains("MII"));

            // Failures are not cached: the next request tries again.
            let _ = tokens.authorization(&client).await.unwrap_err();
            assert_eq!(endpoint.exchanges(), 2);
        });
    }

    #[test]
    fn an_unreachable_token_endpoint_is_a_502() {
        run(async {
            // A port that was free a moment ago: nothing listens there now.
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let uri = format!("http://{}/token", listener.local_addr().unwrap());
            drop(listener);
            let (clock, _) = test_clock();
            let error = source(&uri, clock)
                .authorization(&awc::Client::default())
                .await
                .unwrap_err();
            assert_eq!(error.status.as_u16(), 502);
            assert!(
                error
                    .message
                    .starts_with("cannot reach the GCP token endpoint 127.0.0.1:"),
                "{}",
                error.message
            );
        });
    }

    #[test]
    fn oauth_errors_are_quoted_shortened_and_only_their_two_fields() {
        assert_eq!(
            oauth_error(br#"{"error":"invalid_grant","error_description":"bad","other":"x"}"#),
            "invalid_grant: bad"
        );
        assert_eq!(
            oauth_error(br#"{"error":"invalid_client"}"#),
            "invalid_client"
        );
        assert_eq!(oauth_error(b"<html>"), "no OAuth error in the answer");
        assert_eq!(oauth_error(b"{}"), "no OAuth error in the answer");
        let long = json!({ "error": "x".repeat(1000) }).to_string();
        assert_eq!(oauth_error(long.as_bytes()).len(), MAX_ERROR_DETAIL);
    }

    #[test]
    fn refresh_time_keeps_a_margin_before_expiry() {
        let t = UNIX_EPOCH + Duration::from_secs(START);
        assert_eq!(
            refresh_time(t, Duration::from_secs(3599)),
            t + Duration::from_secs(3299)
        );
        assert_eq!(
            refresh_time(t, Duration::from_secs(100)),
            t + Duration::from_secs(50)
        );
        assert_eq!(refresh_time(t, Duration::ZERO), t);
        assert_eq!(
            refresh_time(t, Duration::from_secs(u64::MAX)),
            t + Duration::from_secs(24 * 3600 - 300)
        );
    }
}
