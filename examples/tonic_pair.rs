//! A tonic server behind the layer and a tonic client that sends its token and keeps the
//! renewed one, in one program. The server is the standard `grpc.health.v1.Health` service, so
//! no `.proto` is needed.
//!
//! ```sh
//! cargo run --example tonic_pair
//! ```

use std::time::Duration;

use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Channel, Server};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tower::ServiceBuilder;
use tower_sliding_jwt::client::{ClientTokenLayer, TokenStore};
use tower_sliding_jwt::{JwtAuthLayer, RenewalPolicy};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The server: every call needs a token; 4-second tokens, renewed in their last 3 seconds.
    let auth = JwtAuthLayer::builder()
        .hs256(b"an example secret of at least 32 bytes") // from your secret store, really
        .issuer("my-app")
        .token_lifetime(Duration::from_secs(4))
        .renewal(RenewalPolicy::new().renew_within(Duration::from_secs(3)))
        .build()?;
    let issuer = auth.issuer(); // what the login service signs with
    let (_reporter, health) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://{}", listener.local_addr()?);
    let server = Server::builder().layer(auth).add_service(health);
    tokio::spawn(server.serve_with_incoming(TcpListenerStream::new(listener)));

    // The client: the token store sends the token to this origin only and keeps renewals.
    let store = TokenStore::new(&origin)?.with_token(issuer.issue("svc-7", &())?.token);
    let channel = Channel::from_shared(origin.clone())?.connect().await?;
    let channel =
        ServiceBuilder::new().layer(ClientTokenLayer::new(store.clone())).service(channel);
    let mut client = HealthClient::new(channel);
    let check = || HealthCheckRequest { service: String::new() };

    let first = store.token();
    println!("call 1: {:?}", client.check(check()).await?.into_inner().status());
    tokio::time::sleep(Duration::from_millis(1_500)).await; // now in the renewal window
    println!("call 2: {:?}", client.check(check()).await?.into_inner().status());
    println!("renewed: {}", store.token() != first);

    // Without a token, the call is refused.
    let mut anonymous = HealthClient::new(Channel::from_shared(origin)?.connect().await?);
    let refused = anonymous.check(check()).await.unwrap_err();
    println!("without a token: {:?}", refused.code());
    Ok(())
}
