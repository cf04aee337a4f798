//! Downloading a JWK Set: the URL rules, OpenID Connect discovery, the size and time limits,
//! the built-in HTTPS client, and the keys of a document the crate can use.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::Uri;

use crate::error::JwksError;
use crate::keys::{Key, KeyRole, KeySet};

/// How a document is downloaded: a GET of the URL, answering the body of a 2xx response.
pub(super) type HttpClient = Arc<
    dyn Fn(Uri) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, JwksError>> + Send>> + Send + Sync,
>;

pub(super) const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// `text` as a URL this builder may fetch: absolute, and `https` unless plain HTTP is allowed.
pub(super) fn checked_url(text: &str, allow_http: bool) -> Result<Uri, JwksError> {
    let url: Uri = text.parse().map_err(|_| JwksError::InvalidUrl)?;
    match url.scheme_str() {
        Some("https") => {}
        Some("http") if allow_http => {}
        Some("http") => return Err(JwksError::Insecure),
        _ => return Err(JwksError::InvalidUrl),
    }
    if url.host().is_none() {
        return Err(JwksError::InvalidUrl);
    }
    Ok(url)
}

/// The `jwks_uri` of `issuer`'s discovery document, which must name exactly `issuer` (so a
/// document served elsewhere cannot speak for it).
pub(super) async fn discover(
    client: &HttpClient,
    issuer: &str,
    allow_http: bool,
    timeout: Duration,
) -> Result<Uri, JwksError> {
    #[derive(serde::Deserialize)]
    struct Configuration {
        issuer: String,
        jwks_uri: String,
    }
    let location = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    let body = get(client, &checked_url(&location, allow_http)?, timeout).await?;
    let configuration: Configuration = serde_json::from_slice(&body)
        .map_err(|_| JwksError::Discovery("not an OpenID provider configuration"))?;
    if configuration.issuer != issuer {
        return Err(JwksError::Discovery("the configuration names another issuer"));
    }
    checked_url(&configuration.jwks_uri, allow_http)
}

pub(super) async fn download(
    client: &HttpClient,
    url: &Uri,
    issuer: &Arc<str>,
    timeout: Duration,
) -> Result<(KeySet, Vec<u8>), JwksError> {
    let body = get(client, url, timeout).await?;
    let keys = usable_keys(&body, url)?;
    let role = |key| (key, KeyRole::Trusted(Arc::clone(issuer)));
    Ok((KeySet::remote(keys.into_iter().map(role).collect()), body))
}

/// The body of a successful GET, at most 1 MiB, within `timeout`.
async fn get(client: &HttpClient, url: &Uri, timeout: Duration) -> Result<Vec<u8>, JwksError> {
    tokio::time::timeout(timeout, client(url.clone()))
        .await
        .map_err(|elapsed| JwksError::Transport(Box::new(elapsed)))?
}

/// The built-in client: hyper, with rustls, the webpki roots and `extra_roots` (PEM)
/// (feature `jwks-client`).
#[cfg(feature = "jwks-client")]
pub(super) fn built_in_client(extra_roots: &[Vec<u8>]) -> Result<HttpClient, JwksError> {
    use http_body_util::{BodyExt, Empty, Limited};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;

    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    for pem in extra_roots {
        let mut found = false;
        for certificate in CertificateDer::pem_slice_iter(pem) {
            let certificate = certificate.map_err(|_| JwksError::Certificates)?;
            roots.add(certificate).map_err(|_| JwksError::Certificates)?;
            found = true;
        }
        if !found {
            return Err(JwksError::Certificates);
        }
    }
    // Named, not taken from a process-wide default that another crate could have set.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| JwksError::Certificates)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    let client = Client::builder(TokioExecutor::new()).build::<_, Empty<bytes::Bytes>>(connector);
    Ok(Arc::new(move |uri: Uri| {
        let client = client.clone();
        Box::pin(async move {
            let response = client.get(uri).await.map_err(|e| JwksError::Transport(Box::new(e)))?;
            if !response.status().is_success() {
                return Err(JwksError::Status(response.status().as_u16()));
            }
            let body = Limited::new(response.into_body(), MAX_DOCUMENT_BYTES)
                .collect()
                .await
                .map_err(|_| JwksError::TooLarge)?;
            Ok(body.to_bytes().to_vec())
        })
    }))
}

/// Without the built-in client, the application must bring one.
#[cfg(not(feature = "jwks-client"))]
pub(super) fn built_in_client(_: &[Vec<u8>]) -> Result<HttpClient, JwksError> {
    Err(JwksError::NoHttpClient)
}

/// The signature keys of a fetched document that the crate can use. Each other key is skipped
/// and logged (by `kid`), so one key of a new type does not make the whole set unusable.
fn usable_keys(document: &[u8], url: &Uri) -> Result<Vec<Key>, JwksError> {
    let (keys, skipped) = Key::read_jwk_set(document).map_err(JwksError::Keys)?;
    for (kid, reason) in skipped {
        tracing::warn!(target: "tower_sliding_jwt", %url, kid, %reason, "JWK skipped");
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str = r#"{"kty":"OKP","crv":"Ed25519","kid":"k1","alg":"EdDSA","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

    /// A client answering every URL with `body`.
    fn serving(body: &'static str) -> HttpClient {
        Arc::new(move |_| Box::pin(async move { Ok(body.as_bytes().to_vec()) }))
    }

    #[test]
    fn only_absolute_https_urls_unless_http_is_allowed() {
        assert!(checked_url("https://idp.example/jwks", false).is_ok());
        assert!(matches!(checked_url("http://idp.example/jwks", false), Err(JwksError::Insecure)));
        assert!(checked_url("http://127.0.0.1:8080/jwks", true).is_ok());
        for bad in ["/jwks", "ftp://idp.example/jwks", "https://", "not a url"] {
            assert!(matches!(checked_url(bad, true), Err(JwksError::InvalidUrl)), "{bad}");
        }
    }

    #[test]
    fn a_public_document_yields_no_secret_and_survives_an_odd_key() {
        let document = format!(
            r#"{{"keys":[{ED25519},{{"kty":"oct","kid":"s","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}},{{"kty":"XYZ","kid":"new"}}]}}"#
        );
        let url: Uri = "https://idp.example/jwks".parse().unwrap();
        let keys = usable_keys(document.as_bytes(), &url).unwrap();
        assert_eq!(keys.len(), 1, "the oct key and the unknown one are skipped");
        assert_eq!(keys[0].kid(), Some("k1"));
        assert!(usable_keys(b"not json", &url).is_err());
    }

    #[tokio::test]
    async fn discovery_takes_the_jwks_uri_of_exactly_this_issuer() {
        let idp = "https://idp.example";
        let configuration =
            r#"{"issuer":"https://idp.example","jwks_uri":"https://idp.example/keys"}"#;
        let found = discover(&serving(configuration), idp, false, Duration::from_secs(1)).await;
        assert_eq!(found.unwrap(), "https://idp.example/keys");
        let elsewhere = r#"{"issuer":"https://evil.example","jwks_uri":"https://evil.example/k"}"#;
        let refused = discover(&serving(elsewhere), idp, false, Duration::from_secs(1)).await;
        assert!(matches!(refused, Err(JwksError::Discovery(_))));
        let insecure = r#"{"issuer":"https://idp.example","jwks_uri":"http://idp.example/keys"}"#;
        let refused = discover(&serving(insecure), idp, false, Duration::from_secs(1)).await;
        assert!(matches!(refused, Err(JwksError::Insecure)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_download_ends_within_its_timeout() {
        let hanging: HttpClient = Arc::new(|_| Box::pin(std::future::pending()));
        let url: Uri = "https://idp.example/jwks".parse().unwrap();
        let started = tokio::time::Instant::now();
        let result = get(&hanging, &url, Duration::from_secs(2)).await;
        assert!(matches!(result, Err(JwksError::Transport(_))));
        assert_eq!(started.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test]
    async fn every_key_of_a_download_speaks_for_its_issuer() {
        let url: Uri = "https://idp.example/jwks".parse().unwrap();
        let document = format!(r#"{{"keys":[{ED25519}]}}"#).leak();
        let issuer: Arc<str> = Arc::from("https://idp.example");
        let (keys, body) =
            download(&serving(document), &url, &issuer, Duration::from_secs(1)).await.unwrap();
        assert_eq!(body, document.as_bytes());
        assert_eq!(keys.iter().count(), 1);
    }
}
