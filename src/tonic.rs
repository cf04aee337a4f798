//! tonic 0.14 helpers (feature `tonic`): a call's claims in a service, and a client's token.
//!
//! The server side needs nothing tonic-specific: `Server::builder().layer(auth)` and gRPC calls
//! get `grpc-status` rejections and `x-refreshed-token` in their response metadata. On the client,
//! either wrap the channel in [`ClientTokenLayer`](crate::client::ClientTokenLayer) (renewals are then
//! picked up automatically), or attach the token with a [`TokenInterceptor`] and read renewals
//! with [`renewed_token`] / [`TokenStore::offer_from_metadata`](crate::client::TokenStore::offer_from_metadata).
//! DPoP-bound sessions work both ways: [`ClientTokenLayer::dpop`](crate::client::ClientTokenLayer::dpop)
//! (which also answers a nonce challenge by calling once more) or [`TokenInterceptor::dpop`].
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use tonic::transport::Channel;
//! use tower::ServiceBuilder;
//! use tower_sliding_jwt::client::{ClientTokenLayer, TokenStore};
//!
//! let store = TokenStore::new("http://127.0.0.1:50051")?;
//! store.set(std::env::var("TOKEN")?); // from the login call
//! let channel = Channel::from_static("http://127.0.0.1:50051").connect().await?;
//! let channel =
//!     ServiceBuilder::new().layer(ClientTokenLayer::new(store.clone())).service(channel);
//! // Generated clients take it as their transport: `GreeterClient::new(channel)`.
//! # let _ = channel;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use http::Method;
use tonic::metadata::{AsciiMetadataValue, MetadataMap};
use tonic::service::Interceptor;
use tonic::{GrpcMethod, Request, Status};

use crate::claims::Claims;
use crate::middleware::request::Anonymous;

use crate::client::{DpopKeyPair, TokenStore};
use crate::rejection::DPOP_NONCE;
use crate::renewal::REFRESHED_TOKEN_HEADER;

/// A tonic interceptor that adds `authorization: Bearer <token>` from a [`TokenStore`], or with
/// [`dpop`](TokenInterceptor::dpop) `authorization: DPoP <token>` and a proof.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use tonic::transport::Channel;
/// use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
/// use tower_sliding_jwt::client::TokenStore;
/// use tower_sliding_jwt::tonic::TokenInterceptor;
///
/// let store = TokenStore::new("http://127.0.0.1:50051")?.with_token("eyJ…");
/// let channel = Channel::from_static("http://127.0.0.1:50051").connect().await?;
/// let mut client = HealthClient::with_interceptor(channel, TokenInterceptor::new(store.clone()));
/// let response = client.check(HealthCheckRequest { service: String::new() }).await?;
/// store.offer_from_metadata(response.metadata()); // keep a renewed token, if any
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TokenInterceptor {
    store: TokenStore,
    dpop: Option<Arc<DpopKeyPair>>,
}

impl TokenInterceptor {
    /// Attach the token held in `store`.
    ///
    /// ```
    /// use tonic::Request;
    /// use tonic::service::Interceptor;
    /// use tower_sliding_jwt::client::TokenStore;
    /// use tower_sliding_jwt::tonic::TokenInterceptor;
    ///
    /// let store = TokenStore::new("https://grpc.example.com")?;
    /// let mut interceptor = TokenInterceptor::new(store.clone());
    /// let anonymous = interceptor.call(Request::new(()))?;
    /// assert!(anonymous.metadata().get("authorization").is_none(), "nothing until login");
    /// store.set("a.b.c");
    /// let request = interceptor.call(Request::new(()))?;
    /// assert_eq!(request.metadata().get("authorization").unwrap(), "Bearer a.b.c");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(store: TokenStore) -> TokenInterceptor {
        TokenInterceptor { store, dpop: None }
    }

    /// Sender-constrained tokens (RFC 9449): every call carries `authorization: DPoP <token>`
    /// and a `dpop` proof signed with `key` for `POST` to the store's origin and the call's path
    /// (`/package.Service/Method`, which generated clients record in the call's extensions),
    /// with the token's hash and the server's latest nonce. A call made without a generated
    /// client (no [`GrpcMethod`]) is refused before it is sent.
    ///
    /// An interceptor cannot call again: when the server asks for a nonce
    /// (`Code::Unauthenticated` with `use_dpop_nonce`), hand the refusal's metadata to
    /// [`TokenStore::offer_from_metadata`] and call again; or put
    /// [`ClientTokenLayer::dpop`](crate::client::ClientTokenLayer::dpop) on the channel, which
    /// does that by itself.
    ///
    /// ```
    /// use tonic::{GrpcMethod, Request};
    /// use tonic::service::Interceptor;
    /// use tower_sliding_jwt::Algorithm;
    /// use tower_sliding_jwt::client::{DpopKeyPair, TokenStore};
    /// use tower_sliding_jwt::tonic::TokenInterceptor;
    ///
    /// let store = TokenStore::new("https://grpc.example.com")?.with_token("a.b.c");
    /// let mut interceptor = TokenInterceptor::new(store).dpop(DpopKeyPair::generate(Algorithm::ES256)?);
    /// let mut call = Request::new(());
    /// call.extensions_mut().insert(GrpcMethod::new("grpc.health.v1.Health", "Check"));
    /// let call = interceptor.call(call)?;
    /// assert_eq!(call.metadata().get("authorization").unwrap(), "DPoP a.b.c");
    /// assert_eq!(call.metadata().get("dpop").unwrap().to_str()?.split('.').count(), 3);
    /// assert!(interceptor.call(Request::new(())).is_err(), "no method to sign");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dpop(mut self, key: DpopKeyPair) -> TokenInterceptor {
        self.dpop = Some(Arc::new(key));
        self
    }
}

/// `value` as metadata that logging layers print as `Sensitive`.
fn sensitive(value: String) -> Result<AsciiMetadataValue, Status> {
    let mut value = AsciiMetadataValue::try_from(value)
        .map_err(|_| Status::unauthenticated("the stored token is not valid metadata"))?;
    value.set_sensitive(true);
    Ok(value)
}

impl Interceptor for TokenInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let Some(key) = &self.dpop else {
            if let Some(token) = self.store.token() {
                let value = sensitive(format!("Bearer {token}"))?;
                request.metadata_mut().insert("authorization", value);
            }
            return Ok(request);
        };
        let path = request
            .extensions()
            .get::<GrpcMethod<'static>>()
            .map(|method| format!("/{}/{}", method.service(), method.method()))
            .ok_or_else(|| Status::internal("a DPoP proof needs the call's method"))?;
        let signed = self.store.dpop_signed(key, &Method::POST, &path);
        if let Some(authorization) = signed.authorization {
            request.metadata_mut().insert("authorization", sensitive(authorization)?);
        }
        request.metadata_mut().insert("dpop", sensitive(signed.proof)?);
        Ok(request)
    }
}

/// The verified claims of a request, for a service method behind the layer, or the `Status` to
/// answer without them: `UNAUTHENTICATED` when the layer, in optional mode, let the call through
/// without a token; `INTERNAL`, and an error log naming both types, when the call carries no
/// claims of type `C` otherwise (the service is not behind the layer, or the layer reads another
/// claims type), as the axum extractor answers the same mistake.
///
/// ```
/// use tonic::{Request, Response, Status};
/// use tower_sliding_jwt::testing::claims as made_claims;
/// use tower_sliding_jwt::{Claims, NoCustomClaims};
///
/// async fn whoami(request: Request<()>) -> Result<Response<String>, Status> {
///     let claims = tower_sliding_jwt::tonic::claims::<NoCustomClaims, _>(&request)?;
///     Ok(Response::new(claims.subject().unwrap_or_default().to_owned()))
/// }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut request = Request::new(());
/// request.extensions_mut().insert(made_claims("svc-7", NoCustomClaims {}));
/// assert_eq!(whoami(request).await?.into_inner(), "svc-7");
/// // Not behind the layer at all: a server misconfiguration, not the caller's fault.
/// assert_eq!(whoami(Request::new(())).await.unwrap_err().code(), tonic::Code::Internal);
/// # Ok::<(), Status>(())
/// # }).unwrap();
/// ```
pub fn claims<C: Send + Sync + 'static, T>(request: &Request<T>) -> Result<&Claims<C>, Status> {
    let extensions = request.extensions();
    if let Some(claims) = extensions.get::<Claims<C>>() {
        return Ok(claims);
    }
    if extensions.get::<Anonymous>().is_some() {
        return Err(Status::unauthenticated("the call carries no token"));
    }
    crate::claims::report_foreign_claims::<C>();
    Err(Status::internal("the service is misconfigured"))
}

/// The renewed token in a response's metadata (`x-refreshed-token`), if any.
///
/// ```
/// use tonic::metadata::MetadataMap;
/// use tower_sliding_jwt::tonic::renewed_token;
///
/// let mut metadata = MetadataMap::new();
/// assert_eq!(renewed_token(&metadata), None);
/// metadata.insert("x-refreshed-token", "a.b.c".parse().unwrap());
/// assert_eq!(renewed_token(&metadata), Some("a.b.c"));
/// ```
pub fn renewed_token(metadata: &MetadataMap) -> Option<&str> {
    metadata.get(REFRESHED_TOKEN_HEADER.as_str()).and_then(|value| value.to_str().ok())
}

impl TokenStore {
    /// [`offer`](TokenStore::offer) the renewed token of a gRPC response, if its metadata
    /// carries one, and keep its DPoP nonce (`dpop-nonce`), if any, for the next proofs. Works
    /// for unary responses, the initial metadata of streams, and a refusal's
    /// [`Status::metadata`].
    ///
    /// ```
    /// use tonic::metadata::MetadataMap;
    /// use tower_sliding_jwt::client::TokenStore;
    ///
    /// # fn token(iat: i64, exp: i64) -> String {
    /// #     use base64::Engine as _;
    /// #     let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    /// #     let claims = serde_json::json!({"iss":"api","sub":"7","sid":"s","iat":iat,"exp":exp});
    /// #     format!("{}.{}.sig", b64(r#"{"alg":"HS256"}"#.into()), b64(claims.to_string()))
    /// # }
    /// let store = TokenStore::new("https://grpc.example.com")?.with_token(token(0, 100));
    /// let mut metadata = MetadataMap::new();
    /// metadata.insert("x-refreshed-token", token(60, 160).parse()?);
    /// assert!(store.offer_from_metadata(&metadata));
    /// assert_eq!(store.token().as_deref(), Some(token(60, 160).as_str()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn offer_from_metadata(&self, metadata: &MetadataMap) -> bool {
        if let Some(nonce) = metadata.get(DPOP_NONCE.as_str()).and_then(|v| v.to_str().ok()) {
            self.keep_nonce(nonce);
        }
        renewed_token(metadata).is_some_and(|token| self.offer(token))
    }
}
