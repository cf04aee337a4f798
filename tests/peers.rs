//! The crate against independent implementations of the standards it follows: a real OpenID
//! provider (node-oidc-provider, with DPoP) issues DPoP-bound JWT access tokens by client
//! credentials, and its clients' proofs are made by jose (RFC 9449 sections 4.2, 4.3, 6.1 and
//! 7.1). The layer, as a resource server with the provider's discovered JWK Set, accepts those
//! tokens with good proofs, ES256 and EdDSA alike, and refuses every broken variant.
//!
//! Needs Node.js and `npm ci` in `tests/peers`; without them the tests are skipped with a
//! message, unless `REQUIRE_NODE` is set, as `.ci/run` does.

mod common;

use std::process::Stdio;

use axum::routing::get;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tower_sliding_jwt::jwks::RemoteJwks;
use tower_sliding_jwt::{Claims, DpopPolicy, JwtAuthLayer};

/// node-oidc-provider on a loopback port, with the tokens and proofs its clients made for
/// `origin`; stopped when dropped.
struct Provider {
    output: Value,
    _process: tokio::process::Child,
}

impl Provider {
    async fn start(origin: &str) -> Provider {
        let mut process = tokio::process::Command::new("node")
            .arg("dpop_provider.mjs")
            .arg(origin)
            .current_dir(common::peers_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node");
        let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
        // The provider's notices come first; the JSON line last.
        let output = loop {
            let line = lines.next_line().await.unwrap().expect("the provider's output");
            if line.starts_with('{') {
                break serde_json::from_str(&line).unwrap();
            }
        };
        Provider { output, _process: process }
    }
}

fn texts(value: &Value) -> Vec<(String, String)> {
    let object = value.as_object().unwrap();
    object.iter().map(|(name, proof)| (name.clone(), proof.as_str().unwrap().to_owned())).collect()
}

async fn node_oidc_provider_tokens_with_jose_proofs() {
    let (listener, origin) = common::listen().await;
    let provider = Provider::start(&origin).await;
    let issuer = provider.output["issuer"].as_str().unwrap();
    let jwks = RemoteJwks::discover(issuer).allow_http(true).fetch().await.unwrap();
    let auth = JwtAuthLayer::builder()
        .remote_jwks(jwks)
        .audience("api")
        .dpop(DpopPolicy::new().public_origin(&origin).bound_only())
        .build()
        .unwrap();
    let whoami = get(|claims: Claims| async move { claims.subject().unwrap().to_owned() });
    common::serve_on(listener, axum::Router::new().route("/whoami", whoami).layer(auth));

    let http = reqwest::Client::new();
    let send = |scheme: &str, token: &str, proof: Option<&str>| {
        let mut request = http
            .get(format!("{origin}/whoami"))
            .header("authorization", format!("{scheme} {token}"));
        if let Some(proof) = proof {
            request = request.header("dpop", proof);
        }
        request.send()
    };
    let challenges = |response: &reqwest::Response| {
        let values = response.headers().get_all("www-authenticate");
        values.iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>().join(" | ")
    };

    for (alg, sub) in [("ES256", "p256-client"), ("EdDSA", "ed25519-client")] {
        let client = &provider.output["clients"][alg];
        let token = client["token"].as_str().unwrap();
        assert_eq!(client["token_type"], "DPoP", "{alg}");
        let claims = common::claims_of(token);
        assert_eq!(claims["cnf"]["jkt"], client["jkt"], "{alg}: the provider bound the token");

        for proof in client["good"].as_array().unwrap() {
            let response = send("DPoP", token, proof.as_str()).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{alg}: {}", challenges(&response));
            assert_eq!(response.text().await.unwrap(), sub);
        }
        let first = client["good"][0].as_str();
        let replayed = send("DPoP", token, first).await.unwrap();
        assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED, "{alg}: a replayed proof");
        assert!(challenges(&replayed).contains("used before"), "{alg}: {}", challenges(&replayed));

        for (name, proof) in texts(&client["broken"]) {
            let response = send("DPoP", token, Some(&proof)).await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{alg}, {name}");
            let said = challenges(&response);
            assert!(said.contains(r#"error="invalid_dpop_proof""#), "{alg}, {name}: {said}");
        }
        let without = send("DPoP", token, None).await.unwrap();
        assert!(challenges(&without).contains("missing"), "{alg}: {}", challenges(&without));
        let downgraded = send("Bearer", token, None).await.unwrap();
        assert_eq!(downgraded.status(), StatusCode::UNAUTHORIZED, "{alg}: as a bearer token");
        assert!(challenges(&downgraded).contains("invalid_token"), "{}", challenges(&downgraded));
    }
}

fn main() {
    use common::harness::{Needs, Runtime, run, trial};
    run(vec![trial(
        "node_oidc_provider_tokens_with_jose_proofs",
        Needs::Node,
        Runtime::CurrentThread,
        node_oidc_provider_tokens_with_jose_proofs,
    )])
}
