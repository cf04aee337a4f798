//! Helpers shared by the integration tests: real servers on 127.0.0.1:0 and hand-made tokens.
#![allow(dead_code)]

pub mod app;
pub mod browser;
pub mod dpop;
pub mod harness;
pub mod proxy;
pub mod redis;

use std::net::SocketAddr;

use axum::Router;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use tower_sliding_jwt::testing::TokenFactory;
use tower_sliding_jwt::{Algorithm, Key};

/// Serve `router` on an ephemeral loopback port; returns `http://127.0.0.1:PORT`.
pub async fn serve(router: Router) -> String {
    let (listener, base) = listen().await;
    serve_on(listener, router);
    base
}

/// An ephemeral loopback port and its `http://127.0.0.1:PORT`, for a server that must know its
/// own address before it is built.
pub async fn listen() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr: SocketAddr = listener.local_addr().expect("local addr");
    (listener, format!("http://{addr}"))
}

/// Serve `router` on `listener`, in the background.
pub fn serve_on(listener: tokio::net::TcpListener, router: Router) {
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("server");
    });
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The testing kit signing with an HMAC key of `secret` (SHA-256, 384 or 512 by `bits`).
fn kit(bits: u16, secret: &[u8]) -> TokenFactory {
    let alg = match bits {
        256 => Algorithm::HS256,
        384 => Algorithm::HS384,
        _ => Algorithm::HS512,
    };
    TokenFactory::new(Key::hmac(alg, secret).expect("a long enough secret")).expect("a key")
}

/// A token with exactly this header and payload JSON, HMAC-signed with `secret` (SHA-256,
/// 384 or 512 by `bits`), whatever the header claims.
pub fn hmac_token(bits: u16, secret: &[u8], header: &str, payload: &str) -> String {
    kit(bits, secret).raw(header, payload).expect("signed")
}

/// HS256 token.
pub fn hs256(secret: &[u8], header: &str, payload: &str) -> String {
    hmac_token(256, secret, header, payload)
}

/// Whether `token` carries the HS256 signature `secret` makes over its header and payload.
pub fn signed_with(secret: &[u8], token: &str) -> bool {
    let mut segments = token.split('.');
    let (Some(header), Some(payload)) = (segments.next(), segments.next()) else {
        return false;
    };
    let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).expect("base64url");
    kit(256, secret).raw_bytes(&decode(header), &decode(payload)).expect("signed") == token
}

/// The payload of a token, unverified (for inspecting what the server sent).
pub fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

/// The header of a token, unverified.
pub fn header_of(token: &str) -> Value {
    let header = token.split('.').next().expect("header segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64url")).expect("JSON")
}

/// Current Unix time in seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A token over raw header and payload bytes (which need not be UTF-8 or JSON), HS256-signed.
pub fn hs256_raw(secret: &[u8], header: &[u8], payload: &[u8]) -> String {
    kit(256, secret).raw_bytes(header, payload).expect("signed")
}

/// A response read off a raw socket.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names lowercased, in order.
    pub headers: Vec<(String, String)>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Send `request` (a complete HTTP/1.1 request, any bytes) and read the response head.
pub async fn raw_request(addr: &str, request: &[u8]) -> RawResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut buffer = Vec::new();
    // The server closes the connection (`Connection: close`) after the response.
    let _ =
        tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut buffer))
            .await;
    let head_end = buffer.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(buffer.len());
    let head = String::from_utf8_lossy(&buffer[..head_end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    RawResponse { status, headers }
}

/// Everything a `tracing` subscriber writes, shared with the test that reads it.
#[derive(Clone, Default)]
pub struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

/// A global subscriber that records nothing but never lets a callsite be cached as "never
/// interesting". tracing caches each callsite's interest over the dispatchers alive when it is
/// first hit; a test thread hitting one while another test's scoped subscriber is being set up
/// can cache "never" and silence it for that subscriber too. With this one installed, every
/// callsite asks each time.
struct Undecided;

impl tracing::Subscriber for Undecided {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::sometimes()
    }
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        false
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

impl Capture {
    /// A subscriber writing every event up to DEBUG, without colours, into this capture.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        static UNDECIDED: std::sync::Once = std::sync::Once::new();
        UNDECIDED.call_once(|| {
            // Fails only if a global subscriber is already set, which then decides instead.
            let _ = tracing::subscriber::set_global_default(Undecided);
        });
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A key file of the test suite.
pub fn pem(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A response of either kind the tests read: from a real client, or from `oneshot`.
pub trait Headers {
    fn header_map(&self) -> &http::HeaderMap;
}

impl Headers for reqwest::Response {
    fn header_map(&self) -> &http::HeaderMap {
        self.headers()
    }
}

impl Headers for Reply {
    fn header_map(&self) -> &http::HeaderMap {
        &self.headers
    }
}

/// The `WWW-Authenticate` challenge of a response, or "".
pub fn challenge(response: &impl Headers) -> String {
    response
        .header_map()
        .get(http::header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The renewed token a response carries, if any.
pub fn renewed(response: &impl Headers) -> Option<String> {
    response.header_map().get("x-refreshed-token").map(|v| v.to_str().unwrap().to_owned())
}

/// A response collected from an in-process call.
#[derive(Debug)]
pub struct Reply {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
}

impl Reply {
    pub fn status(&self) -> http::StatusCode {
        self.status
    }

    pub fn headers(&self) -> &http::HeaderMap {
        &self.headers
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// Send `request` through `router` in process (`oneshot`): for tests where the wire is not the
/// point.
pub async fn call(router: &Router, request: http::request::Builder) -> Reply {
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;
    let request = request.body(axum::body::Body::empty()).expect("a valid request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("the body").to_bytes();
    Reply { status: parts.status, headers: parts.headers, body }
}

/// One of the example servers (`server`, `hyper_server`, `grpc_server`), run as the user runs
/// it, on a free loopback port; killed when dropped.
pub struct Example {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// What it printed before the line saying where it listens.
    pub banner: String,
}

impl Example {
    /// Start the built example `name` with these environment variables (and `BIND` on a free
    /// port). `cargo test` builds the examples before it runs the tests.
    pub fn start(name: &str, env: &[(&str, &str)]) -> Example {
        let mut command = Example::command(name);
        command.env("BIND", "127.0.0.1:0").envs(env.iter().copied());
        Example::spawn(command)
    }

    /// Start the built example `name`, which reads no environment, with these arguments.
    pub fn start_with_args(name: &str, args: &[&str]) -> Example {
        let mut command = Example::command(name);
        command.args(args);
        Example::spawn(command)
    }

    /// The command that runs the built example `name`.
    pub fn command(name: &str) -> std::process::Command {
        // target/<profile>/deps/<test>-… → target/<profile>/examples/<name>
        let exe = std::env::current_exe().expect("test binary path");
        let profile = exe.parent().and_then(|deps| deps.parent()).expect("target dir");
        let binary = profile.join("examples").join(name);
        assert!(binary.exists(), "{} is missing: `cargo build --examples`", binary.display());
        let mut command = std::process::Command::new(binary);
        command.env("RUST_LOG", "warn");
        command
    }

    fn spawn(mut command: std::process::Command) -> Example {
        use std::io::{BufRead, BufReader};
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the example");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        // Logs may come first; the address is on the line that says where it listens.
        let mut seen = String::new();
        let base = loop {
            let mut line = String::new();
            let read = stdout.read_line(&mut line).expect("the example's output");
            assert!(read > 0, "the example exited before listening: {seen:?}");
            if let Some(word) = line.split_whitespace().find(|word| word.starts_with("http://")) {
                break word.to_owned();
            }
            seen.push_str(&line);
        };
        // Keep reading, so the server never writes into a closed pipe.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        Example { child, base, banner: seen }
    }

    /// The process id (to read its memory).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An issuer configured as the example servers are by default (HS256 with `secret`, issuer
/// `demo`, 300 s tokens, 24 h sessions), on a clock of its own set to `at`: it signs the tokens
/// the server would have signed at that moment. Move its clock to make history.
pub fn example_issuer(
    secret: &str,
    at: i64,
) -> (tower_sliding_jwt::Issuer, tower_sliding_jwt::ManualClock) {
    let clock = tower_sliding_jwt::ManualClock::new(at);
    let issuer = tower_sliding_jwt::JwtAuthLayer::builder()
        .hs256(secret)
        .issuer("demo")
        .clock(clock.clone())
        .build()
        .expect("the examples' configuration")
        .issuer();
    (issuer, clock)
}

/// Whether `program` is an executable on `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Where the npm packages of the interoperability tests live.
pub fn peers_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

/// Every `.rs` file under `dir`, at any depth.
pub fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// What a test's metrics recorder holds, as `name{label=value,...}` and a number (a counter's
/// count, a gauge's value, a histogram's number of samples). Taking a snapshot drains it.
pub fn metrics_series(
    snapshots: &metrics_util::debugging::Snapshotter,
) -> std::collections::BTreeMap<String, f64> {
    use metrics_util::debugging::DebugValue;
    let snapshot = snapshots.snapshot().into_vec().into_iter();
    snapshot
        .map(|(key, _, _, value)| {
            let key = key.key();
            let labels: Vec<String> =
                key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
            let value = match value {
                DebugValue::Counter(n) => n as f64,
                DebugValue::Gauge(g) => g.into_inner(),
                DebugValue::Histogram(samples) => samples.len() as f64,
            };
            (format!("{}{{{}}}", key.name(), labels.join(",")), value)
        })
        .collect()
}
