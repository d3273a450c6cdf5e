//! AWS Signature Version 4 with the crate `aws-sigv4`, over the request exactly as the gateway
//! sends it, computed the way botocore (boto3) computes it:
//!
//! - The path is signed as sent. A provider module encodes it as boto3 does (a Bedrock model id
//!   `us.amazon.nova-micro-v1:0` goes out as `us.amazon.nova-micro-v1%3A0`), and SigV4 encodes the
//!   canonical URI once more, so that `%3A` is `%253A` in the canonical request. That is
//!   `PercentEncodingMode::Double`. Dot segments and repeated slashes are normalised in the
//!   canonical URI only (`UriPathNormalizationMode::Enabled`), as botocore does for every service
//!   but S3. S3's single encoding is not supported: no module signs for S3.
//! - The `Host` header is signed, and then sent with that same value: the URL's host, with its
//!   port unless it is the scheme's default (botocore's rule).
//! - The headers left out of the signature are botocore's: hop-by-hop headers, `user-agent`,
//!   tracing headers that proxies rewrite, and `authorization` itself.
//! - The payload hash goes into the canonical request, and no `x-amz-content-sha256` header is
//!   added: only S3 requires that header.
//! - A session token is sent as `x-amz-security-token` and signed.

use std::borrow::Cow;
use std::time::SystemTime;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Uri;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody,
    SignableRequest, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;

use super::aws_credentials::AwsCredentials;

/// botocore's `SIGNED_HEADERS_BLACKLIST`, plus `authorization`, which carries the signature.
const UNSIGNED_HEADERS: &[&str] = &[
    "authorization",
    "baggage",
    "connection",
    "expect",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "traceparent",
    "tracestate",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "x-amzn-trace-id",
];

/// What the request is signed for.
pub struct Scope<'a> {
    /// The signing name, e.g. `bedrock`.
    pub service: &'a str,
    pub region: &'a str,
    pub time: SystemTime,
}

/// The request as it goes out. `headers` must include `host` (see [`host_header`]).
pub struct Request<'a> {
    pub method: &'a str,
    /// Absolute, path and query as sent.
    pub url: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// The `Host` header to sign and send for `uri`: its host, and its port unless that is the
/// scheme's default.
pub fn host_header(uri: &Uri) -> Option<String> {
    let host = uri.host()?;
    let default_port = match uri.scheme_str() {
        Some("http") => Some(80),
        Some("https") => Some(443),
        _ => None,
    };
    Some(match uri.port_u16() {
        Some(port) if Some(port) != default_port => format!("{host}:{port}"),
        _ => host.to_string(),
    })
}

fn settings() -> SigningSettings {
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Double;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Enabled;
    settings.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    settings.session_token_mode = SessionTokenMode::Include;
    settings.excluded_headers = Some(UNSIGNED_HEADERS.iter().map(|h| Cow::Borrowed(*h)).collect());
    settings
}

/// Signs `request`, returning the headers to add: `authorization`, `x-amz-date`, and
/// `x-amz-security-token` when the credentials have a session token. Those carrying secrets are
/// marked sensitive, so that `Debug` output of the request leaves them out.
pub fn sign_request(
    credentials: &AwsCredentials,
    scope: &Scope<'_>,
    request: &Request<'_>,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let identity = credentials.credentials().clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(scope.region)
        .name(scope.service)
        .time(scope.time)
        .settings(settings())
        .build()
        .map_err(|e| format!("cannot set up SigV4 signing: {e}"))?
        .into();
    let signable = SignableRequest::new(
        request.method,
        request.url,
        request.headers.iter().copied(),
        SignableBody::Bytes(request.body),
    )
    .map_err(|e| format!("cannot sign the upstream request: {e}"))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| format!("cannot sign the upstream request: {e}"))?
        .into_parts();
    let (headers, _query) = instructions.into_parts();
    headers
        .into_iter()
        .map(|header| {
            let mut value = HeaderValue::try_from(header.value())
                .map_err(|_| format!("SigV4 produced an invalid {} header", header.name()))?;
            // aws-sigv4 marks only the session token; the signature authorises the request
            // for minutes, so it stays out of logs too.
            value.set_sensitive(header.sensitive() || header.name() == "authorization");
            Ok((HeaderName::from_static(header.name()), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use serde::Deserialize;

    use super::*;
    use crate::cloud_auth::aws_credentials::CredentialSource;

    /// Requests and the headers botocore computed for them; see
    /// `tests/python/test_sigv4_botocore.py`, which checks the same values against botocore.
    const VECTORS: &str = include_str!("../../testdata/sigv4-botocore.json");

    #[derive(Deserialize)]
    struct Vectors {
        cases: Vec<Case>,
    }

    #[derive(Deserialize)]
    struct Case {
        name: String,
        method: String,
        url: String,
        headers: Vec<(String, String)>,
        body: String,
        service: String,
        region: String,
        unix_time: u64,
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
        expected: Expected,
    }

    #[derive(Deserialize)]
    struct Expected {
        authorization: String,
        #[serde(rename = "x-amz-date")]
        x_amz_date: String,
        #[serde(rename = "x-amz-security-token")]
        x_amz_security_token: Option<String>,
    }

    fn sign_case(case: &Case) -> Vec<(HeaderName, HeaderValue)> {
        let credentials = AwsCredentials::new(
            &case.access_key_id,
            &case.secret_access_key,
            case.session_token.as_deref(),
            CredentialSource::Config,
        );
        let uri: Uri = case.url.parse().unwrap();
        let host = host_header(&uri).unwrap();
        let mut headers: Vec<(&str, &str)> = vec![("host", host.as_str())];
        headers.extend(case.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        sign_request(
            &credentials,
            &Scope {
                service: &case.service,
                region: &case.region,
                time: UNIX_EPOCH + Duration::from_secs(case.unix_time),
            },
            &Request {
                method: &case.method,
                url: &case.url,
                headers: &headers,
                body: case.body.as_bytes(),
            },
        )
        .unwrap()
    }

    fn value<'a>(headers: &'a [(HeaderName, HeaderValue)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_str().unwrap())
    }

    #[test]
    fn signatures_equal_botocores_byte_for_byte() {
        let vectors: Vectors = serde_json::from_str(VECTORS).unwrap();
        assert!(vectors.cases.len() >= 5);
        for case in &vectors.cases {
            let headers = sign_case(case);
            assert_eq!(
                value(&headers, "authorization"),
                Some(case.expected.authorization.as_str()),
                "case {}",
                case.name
            );
            assert_eq!(
                value(&headers, "x-amz-date"),
                Some(case.expected.x_amz_date.as_str()),
                "case {}",
                case.name
            );
            assert_eq!(
                value(&headers, "x-amz-security-token"),
                case.expected.x_amz_security_token.as_deref(),
                "case {}",
                case.name
            );
            assert_eq!(
                value(&headers, "x-amz-content-sha256"),
                None,
                "case {}",
                case.name
            );
        }
    }

    #[test]
    fn secrets_in_the_added_headers_are_marked_sensitive() {
        let vectors: Vectors = serde_json::from_str(VECTORS).unwrap();
        let case = vectors
            .cases
            .iter()
            .find(|c| c.session_token.is_some())
            .unwrap();
        for (name, value) in sign_case(case) {
            let secret = name == "authorization" || name == "x-amz-security-token";
            assert_eq!(value.is_sensitive(), secret, "{name}");
        }
    }

    #[test]
    fn the_host_header_drops_only_the_schemes_default_port() {
        let host = |url: &str| host_header(&url.parse().unwrap()).unwrap();
        assert_eq!(
            host("https://bedrock-runtime.us-west-2.amazonaws.com/x"),
            "bedrock-runtime.us-west-2.amazonaws.com"
        );
        assert_eq!(host("https://h.example:443/x"), "h.example");
        assert_eq!(host("http://127.0.0.1:80/x"), "127.0.0.1");
        assert_eq!(host("http://127.0.0.1:8443/x"), "127.0.0.1:8443");
        assert_eq!(host("https://h.example:80/x"), "h.example:80");
        assert_eq!(host("http://h.example:443/x"), "h.example:443");
    }
}
