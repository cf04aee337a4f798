//! Hostile requests against a real server on 127.0.0.1, sent as raw bytes over TCP so nothing is
//! cleaned up by a client library. Every case states the status, the challenge (or gRPC status),
//! whether the handler may run, and that no renewal is emitted.
//!
//! The baseline claims are *inside* the renewal window, so "no renewal" is meaningful: the control
//! case shows the same claims, correctly signed, do renew.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::{RawResponse, b64, hmac_token, hs256, hs256_raw, pem, raw_request, unix_now};
use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{any, get};
use serde_json::{Map, Value, json};
use tower_sliding_jwt::revocation::InMemoryRevocations;
use tower_sliding_jwt::{Algorithm, Issuer, JwtAuthLayer, Key, ManualClock, TokenSource};

const SECRET: &[u8] = b"adversarial-suite-secret-32-bytes!";
const HS: &str = r#"{"alg":"HS256","typ":"JWT","kid":"hs"}"#;

struct Target {
    addr: String,
    calls: Arc<AtomicUsize>,
    now: i64,
    /// A third party (the "partner" identity provider) signing RS256 with the key the server
    /// trusts.
    partner: Issuer,
}

async fn target() -> Target {
    let now = unix_now();
    let clock = ManualClock::new(now);
    let revocations = InMemoryRevocations::new();
    revocations.revoke_token("revoked-jti", now + 3_600);
    let rsa_public = Key::from_public_pem(Algorithm::RS256, pem("rsa_public.pem")).unwrap();
    let rsa_kid = rsa_public.kid().unwrap().to_owned();
    let layer = JwtAuthLayer::builder()
        .signing_key(Key::hs256(SECRET).unwrap().with_kid("hs"))
        .trusted_key("partner", rsa_public)
        .trusted_key(
            "partner",
            Key::from_public_pem(Algorithm::ES256, pem("ec256_public.pem")).unwrap().with_kid("ec"),
        )
        .issuer("us")
        .audience("api")
        .token_sources([
            TokenSource::Bearer,
            TokenSource::cookie("token"),
            TokenSource::query("token"),
        ])
        .revocation(revocations)
        .clock(clock.clone())
        .build()
        .unwrap();
    let partner = JwtAuthLayer::builder()
        .signing_key(
            Key::from_private_pem(Algorithm::RS256, pem("rsa_private.pem"))
                .unwrap()
                .with_kid(rsa_kid),
        )
        .issuer("partner")
        .audience("api")
        .clock(clock)
        .build()
        .unwrap()
        .issuer();
    let calls = Arc::new(AtomicUsize::new(0));
    let (c1, c2) = (calls.clone(), calls.clone());
    let app = Router::new()
        .route(
            "/",
            any(move || {
                c1.fetch_add(1, Ordering::SeqCst);
                async { "inner" }
            }),
        )
        .route(
            "/status/{code}",
            get(move |Path(code): Path<u16>| {
                c2.fetch_add(1, Ordering::SeqCst);
                async move { StatusCode::from_u16(code).unwrap() }
            }),
        )
        .layer(layer);
    let base = crate::common::serve(app).await;
    Target { addr: base.trim_start_matches("http://").to_owned(), calls, now, partner }
}

/// Baseline claims: valid, ours, and inside the renewal window (100 s of 300 left).
fn claims(now: i64, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let mut map = json!({
        "sub": "user-1", "iss": "us", "aud": "api",
        "iat": now - 200, "auth_time": now - 200, "exp": now + 100, "jti": "jti-1", "sid": "sid-1"
    })
    .as_object()
    .unwrap()
    .clone();
    edit(&mut map);
    Value::Object(map).to_string()
}

fn valid(now: i64) -> String {
    hs256(SECRET, HS, &claims(now, |_| {}))
}

/// A complete HTTP/1.1 request with these extra header lines (raw bytes).
fn request(method: &str, path: &str, headers: &[&[u8]]) -> Vec<u8> {
    let mut bytes =
        format!("{method} {path} HTTP/1.1\r\nhost: target\r\nconnection: close\r\n").into_bytes();
    for header in headers {
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(b"\r\n");
    }
    if method == "POST" {
        bytes.extend_from_slice(b"content-length: 0\r\n");
    }
    bytes.extend_from_slice(b"\r\n");
    bytes
}

fn bearer(token: &str) -> Vec<u8> {
    format!("authorization: Bearer {token}").into_bytes()
}

fn get_with(token: &str) -> Vec<u8> {
    request("GET", "/", &[&bearer(token)])
}

/// Flip one character in segment `index` of a token.
fn flip(token: &str, index: usize) -> String {
    let mut segments: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut chars: Vec<char> = segments[index].chars().collect();
    chars[2] = if chars[2] == 'A' { 'B' } else { 'A' };
    segments[index] = chars.into_iter().collect();
    segments.join(".")
}

#[derive(Clone, Copy)]
enum Challenge {
    /// No `WWW-Authenticate` (the request never got to the layer, or was accepted).
    Absent,
    Exact(&'static str),
    /// `error="<code>"` and a description containing the text.
    Error(&'static str, &'static str),
    /// A gRPC rejection: `grpc-status` and `grpc-message`.
    Grpc(&'static str, &'static str),
}

struct Case {
    name: String,
    request: Vec<u8>,
    status: u16,
    challenge: Challenge,
    reaches_handler: bool,
    renews: bool,
}

fn refused(name: impl Into<String>, request: Vec<u8>, status: u16, challenge: Challenge) -> Case {
    Case { name: name.into(), request, status, challenge, reaches_handler: false, renews: false }
}

fn invalid_token(name: impl Into<String>, token: &str, reason: &'static str) -> Case {
    refused(name, get_with(token), 401, Challenge::Error("invalid_token", reason))
}

fn accepted(name: impl Into<String>, request: Vec<u8>, status: u16, renews: bool) -> Case {
    Case {
        name: name.into(),
        request,
        status,
        challenge: Challenge::Absent,
        reaches_handler: true,
        renews,
    }
}

fn cases(t: &Target) -> Vec<Case> {
    let now = t.now;
    let good = valid(now);
    let with =
        |edit: &dyn Fn(&mut Map<String, Value>)| hs256(SECRET, HS, &claims(now, |m| edit(m)));
    let segments: Vec<&str> = good.split('.').collect();
    let (h, p, s) = (segments[0], segments[1], segments[2]);
    let deep = format!(r#"{{"alg":"HS256","kid":{}"hs"{}}}"#, "[".repeat(2_500), "]".repeat(2_500));
    let mut cases = vec![
        // The control: proves the checks below are meaningful.
        accepted("control: valid token in the renewal window", get_with(&good), 200, true),
        accepted(
            "control: lowercase scheme",
            request("GET", "/", &[format!("authorization: bearer {good}").as_bytes()]),
            200,
            true,
        ),
        // Missing and non-Bearer.
        refused(
            "missing",
            request("GET", "/", &[]),
            401,
            Challenge::Exact(r#"Bearer realm="api""#),
        ),
        refused(
            "Basic scheme",
            request("GET", "/", &[b"authorization: Basic dXNlcjpwYXNz"]),
            401,
            Challenge::Exact(r#"Bearer realm="api""#),
        ),
        refused(
            "Bearerish scheme",
            request("GET", "/", &[format!("authorization: Bearerx {good}").as_bytes()]),
            401,
            Challenge::Exact(r#"Bearer realm="api""#),
        ),
        refused(
            "empty bearer",
            request("GET", "/", &[b"authorization: Bearer"]),
            400,
            Challenge::Error("invalid_request", "empty"),
        ),
        refused(
            "bearer of spaces",
            request("GET", "/", &[b"authorization: Bearer      "]),
            400,
            Challenge::Error("invalid_request", "empty"),
        ),
        refused(
            "two tokens after Bearer",
            get_with(&format!("{good} {good}")),
            400,
            Challenge::Error("invalid_request", "exactly one token"),
        ),
        refused(
            "two Authorization headers",
            request("GET", "/", &[&bearer(&good), &bearer(&good)]),
            400,
            Challenge::Error("invalid_request", "more than once"),
        ),
        refused(
            "bearer then tab",
            request("GET", "/", &[format!("authorization: Bearer\t{good}").as_bytes()]),
            400,
            Challenge::Error("invalid_request", "visible ASCII"),
        ),
        refused(
            "tab inside the token",
            get_with(&format!("{h}.{p}\t.{s}")),
            400,
            Challenge::Error("invalid_request", "visible ASCII"),
        ),
        refused(
            "non-ASCII (obs-text) in the token",
            request(
                "GET",
                "/",
                &[&[b"authorization: Bearer ".as_slice(), good.as_bytes(), "é".as_bytes()]
                    .concat()],
            ),
            400,
            Challenge::Error("invalid_request", "visible ASCII"),
        ),
        // Bytes HTTP itself forbids: the HTTP parser refuses them before any middleware.
        refused(
            "control byte in the header",
            request("GET", "/", &[&[b"authorization: Bearer a\x01b".as_slice()].concat()]),
            400,
            Challenge::Absent,
        ),
        refused(
            "NUL in the header",
            request("GET", "/", &[&[b"authorization: Bearer a\x00b".as_slice()].concat()]),
            400,
            Challenge::Absent,
        ),
        // Several sources: the first present one wins and the rest are never read.
        accepted(
            "bearer wins over a garbage cookie",
            request("GET", "/", &[&bearer(&good), b"cookie: token=\"\"; token=x"]),
            200,
            true,
        ),
        refused(
            "a bad bearer does not fall through to a good cookie",
            request("GET", "/", &[&bearer("a.b.c"), format!("cookie: token={good}").as_bytes()]),
            401,
            Challenge::Error("invalid_token", "header is malformed"),
        ),
        refused(
            "two token cookies",
            request("GET", "/", &[format!("cookie: token={good}; token={good}").as_bytes()]),
            400,
            Challenge::Error("invalid_request", "more than once"),
        ),
        refused(
            "non-ASCII cookie header",
            request("GET", "/", &[&[b"cookie: token=".as_slice(), "ü".as_bytes()].concat()]),
            400,
            Challenge::Error("invalid_request", "visible ASCII"),
        ),
        refused(
            "two token parameters",
            request("GET", &format!("/?token={good}&token={good}"), &[]),
            400,
            Challenge::Error("invalid_request", "more than once"),
        ),
        refused(
            "percent-encoded space in the parameter",
            request("GET", &format!("/?token={h}.%20{p}.{s}"), &[]),
            400,
            Challenge::Error("invalid_request", "exactly one token"),
        ),
        refused(
            "percent-encoded non-ASCII in the parameter",
            request("GET", "/?token=%FF%FE", &[]),
            400,
            Challenge::Error("invalid_request", "visible ASCII"),
        ),
        accepted(
            "a token in the query alone",
            request("GET", &format!("/?token={good}"), &[]),
            200,
            true,
        ),
        // Size.
        invalid_token("9 KiB token", &"a".repeat(9 * 1024), "too large"),
        invalid_token("a bearer of 100,000 dots", &".".repeat(100_000), "too large"),
        // Structure.
        invalid_token("two segments", &format!("{h}.{p}"), "well-formed"),
        invalid_token("four segments", &format!("{good}.{s}"), "well-formed"),
        invalid_token("empty signature", &format!("{h}.{p}."), "well-formed"),
        invalid_token("empty header", &format!(".{p}.{s}"), "well-formed"),
        invalid_token("JWE (five segments)", &format!("{h}.{p}.{s}.{s}.{s}"), "well-formed"),
        invalid_token(
            "JWS JSON serialization",
            &format!(
                r#"{{"payload":"{p}","signatures":[{{"protected":"{h}","signature":"{s}"}}]}}"#
            ),
            "well-formed",
        ),
        invalid_token("padded base64", &format!("{h}==.{p}.{s}"), "header is malformed"),
        invalid_token("standard alphabet +/", &format!("{h}.{p}.+/{s}"), "well-formed"),
        invalid_token(
            "header is a JSON array",
            &hs256(SECRET, r#"["HS256"]"#, &claims(now, |_| {})),
            "header is malformed",
        ),
        invalid_token(
            "header is a JSON string",
            &hs256(SECRET, r#""HS256""#, &claims(now, |_| {})),
            "header is malformed",
        ),
        invalid_token(
            "header is not JSON",
            &hs256(SECRET, "alg=HS256", &claims(now, |_| {})),
            "header is malformed",
        ),
        invalid_token(
            "header is invalid UTF-8",
            &hs256_raw(
                SECRET,
                b"{\"alg\":\"HS256\",\"x\":\"\xff\xfe\"}",
                claims(now, |_| {}).as_bytes(),
            ),
            "header is malformed",
        ),
        invalid_token(
            "payload is a JSON array",
            &hs256(SECRET, HS, "[1,2,3]"),
            "claims are malformed",
        ),
        invalid_token(
            "payload is invalid UTF-8",
            &hs256_raw(SECRET, HS.as_bytes(), b"{\"sub\":\"\xc3\x28\",\"exp\":99999999999}"),
            "claims are malformed",
        ),
        invalid_token(
            "deeply nested kid",
            &hs256(SECRET, &deep, &claims(now, |_| {})),
            "header is malformed",
        ),
        invalid_token(
            "deeply nested aud",
            &hs256(
                SECRET,
                HS,
                &claims(now, |m| {
                    m.remove("aud");
                })
                .replacen(
                    '{',
                    &format!(r#"{{"aud":{}"api"{},"#, "[".repeat(2_000), "]".repeat(2_000)),
                    1,
                ),
            ),
            "claims are malformed",
        ),
        invalid_token(
            "duplicate alg",
            &hs256(SECRET, r#"{"alg":"HS256","alg":"none"}"#, &claims(now, |_| {})),
            "header is malformed",
        ),
        invalid_token(
            "duplicate exp",
            &hs256(
                SECRET,
                HS,
                &format!(
                    r#"{{"sub":"user-1","iss":"us","aud":"api","exp":{},"exp":{}}}"#,
                    now + 100,
                    now + 99_999
                ),
            ),
            "claims are malformed",
        ),
        // Algorithms.
        invalid_token(
            "alg none, no signature",
            &format!("{}.{p}.", b64(br#"{"alg":"none"}"#)),
            "well-formed",
        ),
        invalid_token(
            "alg of the wrong hash",
            &hmac_token(384, &[7u8; 48], r#"{"alg":"HS384","kid":"hs"}"#, &claims(now, |_| {})),
            "does not match the key",
        ),
        invalid_token(
            "RS256 claimed for the HMAC key",
            &hs256(SECRET, r#"{"alg":"RS256","kid":"hs"}"#, &claims(now, |_| {})),
            "does not match the key",
        ),
        invalid_token(
            "HS256 signed with the RSA public key",
            &hs256(
                &pem("rsa_public.pem"),
                &format!(r#"{{"alg":"HS256","kid":"{}"}}"#, t.partner_kid()),
                &claims(now, |_| {}),
            ),
            "does not match the key",
        ),
        invalid_token(
            "HS256 signed with the EC public key",
            &hs256(&pem("ec256_public.pem"), r#"{"alg":"HS256","kid":"ec"}"#, &claims(now, |_| {})),
            "does not match the key",
        ),
        invalid_token(
            "HS256 signed with the RSA public key, no kid",
            &hs256(&pem("rsa_public.pem"), r#"{"alg":"HS256"}"#, &claims(now, |_| {})),
            "signature is invalid",
        ),
        invalid_token(
            "ES256 all-zero signature",
            &format!("{}.{p}.{}", b64(br#"{"alg":"ES256","kid":"ec"}"#), b64(&[0; 64])),
            "signature is invalid",
        ),
        // Header parameters that must never be used.
        invalid_token(
            "crit present",
            &hs256(
                SECRET,
                r#"{"alg":"HS256","kid":"hs","crit":["exp"],"exp":0}"#,
                &claims(now, |_| {}),
            ),
            "unsupported extension",
        ),
        invalid_token(
            "b64 false",
            &hs256(SECRET, r#"{"alg":"HS256","kid":"hs","b64":false}"#, &claims(now, |_| {})),
            "unsupported extension",
        ),
        invalid_token(
            "cty JWT (nested)",
            &hs256(SECRET, r#"{"alg":"HS256","kid":"hs","cty":"JWT"}"#, &claims(now, |_| {})),
            "unsupported extension",
        ),
        invalid_token(
            "kid path traversal",
            &hs256(
                SECRET,
                r#"{"alg":"HS256","kid":"../../../../etc/passwd"}"#,
                &claims(now, |_| {}),
            ),
            "key id is unknown",
        ),
        invalid_token(
            "kid of 4 KiB",
            &hs256(
                SECRET,
                &format!(r#"{{"alg":"HS256","kid":"{}"}}"#, "k".repeat(4096)),
                &claims(now, |_| {}),
            ),
            "key id is unknown",
        ),
        invalid_token(
            "kid of 7,000 bytes: the token passes the size limit",
            &hs256(
                SECRET,
                &format!(r#"{{"alg":"HS256","kid":"{}"}}"#, "k".repeat(7_000)),
                &claims(now, |_| {}),
            ),
            "too large",
        ),
        invalid_token(
            "kid of 1 KiB",
            &hs256(
                SECRET,
                &format!(r#"{{"alg":"HS256","kid":"{}"}}"#, "k".repeat(1024)),
                &claims(now, |_| {}),
            ),
            "key id is unknown",
        ),
        invalid_token(
            "kid is a number",
            &hs256(SECRET, r#"{"alg":"HS256","kid":7}"#, &claims(now, |_| {})),
            "header is malformed",
        ),
        invalid_token(
            "kid is an object",
            &hs256(SECRET, r#"{"alg":"HS256","kid":{"$ne":null}}"#, &claims(now, |_| {})),
            "header is malformed",
        ),
        // Bit flips.
        invalid_token("flipped bit in the header", &flip(&good, 0), "header is malformed"),
        invalid_token("flipped bit in the payload", &flip(&good, 1), "signature is invalid"),
        invalid_token("flipped bit in the signature", &flip(&good, 2), "signature is invalid"),
        // Claims.
        invalid_token(
            "exp missing",
            &with(&|m| {
                m.remove("exp");
            }),
            "lacks the exp claim",
        ),
        invalid_token(
            "exp is a string",
            &with(&|m| {
                m.insert("exp".into(), json!((now + 100).to_string()));
            }),
            "claims are malformed",
        ),
        invalid_token(
            "exp is negative",
            &with(&|m| {
                m.insert("exp".into(), json!(-1));
            }),
            "expired",
        ),
        invalid_token(
            "exp is a boolean",
            &with(&|m| {
                m.insert("exp".into(), json!(true));
            }),
            "claims are malformed",
        ),
        invalid_token(
            "exp is null",
            &with(&|m| {
                m.insert("exp".into(), Value::Null);
            }),
            "claims are malformed",
        ),
        invalid_token(
            "exp is 1e300",
            &hs256(
                SECRET,
                HS,
                &claims(now, |m| {
                    m.remove("exp");
                })
                .replacen('{', r#"{"exp":1e300,"#, 1),
            ),
            "claims are malformed",
        ),
        invalid_token(
            "exp is u64::MAX",
            &with(&|m| {
                m.insert("exp".into(), json!(u64::MAX));
            }),
            "claims are malformed",
        ),
        invalid_token(
            "nbf in the future",
            &with(&|m| {
                m.insert("nbf".into(), json!(now + 60));
            }),
            "not valid yet",
        ),
        invalid_token(
            "nbf is a string",
            &with(&|m| {
                m.insert("nbf".into(), json!("now"));
            }),
            "claims are malformed",
        ),
        invalid_token(
            "iat in the future",
            &with(&|m| {
                m.insert("iat".into(), json!(now + 60));
            }),
            "issued in the future",
        ),
        invalid_token(
            "wrong iss",
            &with(&|m| {
                m.insert("iss".into(), json!("evil"));
            }),
            "issuer is not accepted",
        ),
        invalid_token(
            "missing iss",
            &with(&|m| {
                m.remove("iss");
            }),
            "lacks the iss claim",
        ),
        invalid_token(
            "wrong aud",
            &with(&|m| {
                m.insert("aud".into(), json!(["web", "billing"]));
            }),
            "audience is not accepted",
        ),
        invalid_token(
            "missing aud",
            &with(&|m| {
                m.remove("aud");
            }),
            "lacks the aud claim",
        ),
        invalid_token(
            "missing sub",
            &with(&|m| {
                m.remove("sub");
            }),
            "lacks the sub claim",
        ),
        invalid_token(
            "sub is a number",
            &with(&|m| {
                m.insert("sub".into(), json!(1));
            }),
            "claims are malformed",
        ),
        invalid_token(
            "revoked jti",
            &with(&|m| {
                m.insert("jti".into(), json!("revoked-jti"));
            }),
            "revoked",
        ),
        // Renewal must never happen for these.
        invalid_token(
            "expired beyond the leeway is never renewed",
            &with(&|m| {
                m.insert("exp".into(), json!(now - 6));
            }),
            "expired",
        ),
        accepted(
            "expired within the leeway: accepted, not renewed",
            get_with(&with(&|m| {
                m.insert("exp".into(), json!(now - 2));
            })),
            200,
            false,
        ),
        accepted(
            "at the session limit: accepted, not renewed",
            get_with(&with(&|m| {
                m.insert("auth_time".into(), json!(now + 100 - 86_400));
            })),
            200,
            false,
        ),
        invalid_token(
            "ours, but outliving its session: never issued by us",
            &with(&|m| {
                m.insert("auth_time".into(), json!(now - 90_000));
            }),
            "outlives its session limit",
        ),
        invalid_token(
            "auth_time in the future would make the session endless",
            &with(&|m| {
                m.insert("auth_time".into(), json!(i64::MAX));
            }),
            "session starts in the future",
        ),
        invalid_token(
            "iat standing in for auth_time, in the future",
            &with(&|m| {
                m.remove("auth_time");
                m.insert("iat".into(), json!(now + 3_600));
            }),
            "issued in the future",
        ),
        invalid_token(
            "another kind of JWT signed with our key (a logout token)",
            &hs256(
                SECRET,
                r#"{"alg":"HS256","typ":"logout+jwt","kid":"hs"}"#,
                &claims(now, |_| {}),
            ),
            "type is not accepted",
        ),
        invalid_token(
            "a password-reset token signed with our key",
            &hs256(SECRET, r#"{"alg":"HS256","typ":"reset+jwt"}"#, &claims(now, |_| {})),
            "type is not accepted",
        ),
        accepted(
            "typ at+jwt, with a media type prefix",
            get_with(&hs256(
                SECRET,
                r#"{"alg":"HS256","typ":"application/AT+JWT","kid":"hs"}"#,
                &claims(now, |_| {}),
            )),
            200,
            true,
        ),
        invalid_token(
            "the partner's key minting a token in our name",
            &t.partner_token_as("us"),
            "issuer is not accepted",
        ),
        accepted(
            "a foreign issuer's token is never re-signed",
            get_with(&t.partner_token()),
            200,
            false,
        ),
        // A token of our key with no session start: the session limit cannot bound it.
        invalid_token(
            "our key, no iat or auth_time, exp ten years ahead",
            &with(&|m| {
                m.remove("iat");
                m.remove("auth_time");
                m.insert("exp".into(), json!(now + 10 * 365 * 86_400));
            }),
            "lacks the auth_time claim",
        ),
        // Sender-constrained tokens are worthless without their proof, so never plain bearers.
        invalid_token(
            "DPoP-bound token (cnf.jkt) sent as a bearer",
            &with(&|m| {
                m.insert(
                    "cnf".into(),
                    json!({ "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" }),
                );
            }),
            "bound to a key",
        ),
        invalid_token(
            "mTLS-bound token (cnf.x5t#S256) sent as a bearer",
            &with(&|m| {
                m.insert(
                    "cnf".into(),
                    json!({ "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" }),
                );
            }),
            "bound to a key",
        ),
        accepted(
            "handler 401: no renewal",
            request("GET", "/status/401", &[&bearer(&good)]),
            401,
            false,
        ),
        accepted(
            "handler 403: no renewal",
            request("GET", "/status/403", &[&bearer(&good)]),
            403,
            false,
        ),
        accepted(
            "handler 500: no renewal",
            request("GET", "/status/500", &[&bearer(&good)]),
            500,
            false,
        ),
        accepted(
            "handler 200 on the same route: renewal",
            request("GET", "/status/200", &[&bearer(&good)]),
            200,
            true,
        ),
        // The layer answers a preflight itself: an `any()` route would otherwise run.
        refused(
            "CORS preflight: answered by the layer, handler never runs",
            request(
                "OPTIONS",
                "/",
                &[b"origin: https://app.example", b"access-control-request-method: POST"],
            ),
            204,
            Challenge::Absent,
        ),
        refused(
            "a 'preflight' with a gRPC content type is not one",
            request(
                "OPTIONS",
                "/",
                &[
                    b"origin: https://app.example",
                    b"access-control-request-method: POST",
                    b"content-type: application/grpc",
                ],
            ),
            401,
            Challenge::Exact(r#"Bearer realm="api""#),
        ),
        refused(
            "GET with a gRPC content type gets the HTTP challenge, not a 200",
            request("GET", "/", &[b"content-type: application/grpc"]),
            401,
            Challenge::Exact(r#"Bearer realm="api""#),
        ),
        refused(
            "OPTIONS that is not a preflight",
            request("OPTIONS", "/", &[b"origin: https://app.example"]),
            401,
            Challenge::Exact(r#"Bearer realm="api""#),
        ),
        // gRPC-shaped refusals.
        refused(
            "gRPC without a token",
            request("POST", "/", &[b"content-type: application/grpc"]),
            200,
            Challenge::Grpc("16", "no token was presented"),
        ),
        refused(
            "gRPC with a forged token",
            request(
                "POST",
                "/",
                &[b"content-type: application/grpc+proto", &bearer(&flip(&good, 2))],
            ),
            200,
            Challenge::Grpc("16", "the token signature is invalid"),
        ),
    ];
    // alg none in every case, signed or not.
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = format!(r#"{{"alg":"{alg}","kid":"hs"}}"#);
        cases.push(invalid_token(
            format!("alg {alg}"),
            &hs256(SECRET, &header, &claims(now, |_| {})),
            "algorithm is not accepted",
        ));
    }
    cases
}

impl Target {
    fn partner_kid(&self) -> String {
        self.partner.jwks().keys()[0].kid().unwrap().to_owned()
    }

    /// A partner token inside the renewal window.
    fn partner_token(&self) -> String {
        self.partner.issue("partner-user", &json!({})).unwrap().token
    }

    /// A token signed with the partner's key that claims to come from `iss`.
    fn partner_token_as(&self, iss: &str) -> String {
        let key = Key::from_private_pem(Algorithm::RS256, pem("rsa_private.pem")).unwrap();
        let impostor = JwtAuthLayer::builder()
            .signing_key(key.with_kid(self.partner_kid()))
            .issuer(iss)
            .audience("api")
            .clock(ManualClock::new(self.now))
            .build()
            .unwrap();
        impostor.issuer().issue("partner-user", &json!({})).unwrap().token
    }
}

fn check(case: &Case, response: &RawResponse, calls_before: usize, calls_after: usize) {
    let name = &case.name;
    assert_eq!(response.status, case.status, "{name}: status ({response:?})");
    let challenge = response.header("www-authenticate");
    match case.challenge {
        Challenge::Absent => {
            assert!(challenge.is_none(), "{name}: unexpected challenge {challenge:?}")
        }
        Challenge::Exact(expected) => assert_eq!(challenge, Some(expected), "{name}"),
        Challenge::Error(code, reason) => {
            let challenge =
                challenge.unwrap_or_else(|| panic!("{name}: no challenge ({response:?})"));
            assert!(challenge.contains(&format!(r#"error="{code}""#)), "{name}: {challenge}");
            assert!(challenge.contains(reason), "{name}: {challenge} lacks {reason:?}");
        }
        Challenge::Grpc(code, message) => {
            assert_eq!(response.header("grpc-status"), Some(code), "{name}");
            assert_eq!(response.header("grpc-message"), Some(message), "{name}");
        }
    }
    let reached = calls_after > calls_before;
    assert_eq!(reached, case.reaches_handler, "{name}: handler reached = {reached}");
    // Every refusal by the layer (those with a challenge) forbids storing; hyper's own 400s for
    // unparseable requests never reach it.
    if !matches!(case.challenge, Challenge::Absent) {
        let cache = response.header("cache-control");
        assert_eq!(cache, Some("no-store"), "{name}: a refusal must not be stored");
    }
    let renewed = response.header("x-refreshed-token").is_some();
    assert_eq!(renewed, case.renews, "{name}: renewal emitted = {renewed}");
}

#[tokio::test]
async fn hostile_requests_get_the_documented_refusal() {
    let target = target().await;
    let cases = cases(&target);
    assert!(cases.len() >= 50, "{} cases", cases.len());
    for case in &cases {
        let before = target.calls.load(Ordering::SeqCst);
        let response = raw_request(&target.addr, &case.request).await;
        let after = target.calls.load(Ordering::SeqCst);
        check(case, &response, before, after);
    }
    println!("{} hostile cases checked", cases.len());
}

#[tokio::test]
async fn header_urls_are_never_fetched() {
    let target = target().await;
    let trap = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/keys", trap.local_addr().unwrap());
    for member in ["jku", "x5u"] {
        let header =
            format!(r#"{{"alg":"RS256","kid":"{}","{member}":"{url}"}}"#, target.partner_kid());
        let token = format!(
            "{}.{}.{}",
            b64(header.as_bytes()),
            b64(claims(target.now, |_| {}).as_bytes()),
            b64(&[7; 256])
        );
        let response = raw_request(&target.addr, &get_with(&token)).await;
        assert_eq!(response.status, 401, "{member}");
    }
    let embedded = format!(
        r#"{{"alg":"HS256","jwk":{{"kty":"oct","k":"{}"}}}}"#,
        b64(b"attacker-chosen-secret-32-bytes!!")
    );
    let forged =
        hs256(b"attacker-chosen-secret-32-bytes!!", &embedded, &claims(target.now, |_| {}));
    assert_eq!(raw_request(&target.addr, &get_with(&forged)).await.status, 401);
    let nobody_called =
        tokio::time::timeout(Duration::from_millis(300), trap.accept()).await.is_err();
    assert!(nobody_called, "the server connected to a URL from a token header");
    assert_eq!(target.calls.load(Ordering::SeqCst), 0);
}
