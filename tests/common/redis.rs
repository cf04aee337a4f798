//! Real `redis-server`s on loopback ports, started by the tests: plain, TLS, and a three-master
//! cluster. Without `redis-server` the tests skip with a message, unless `REQUIRE_REDIS` is set
//! (as `.ci/run` does); then a missing server is a failure.

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether `redis-server` (and `redis-cli`) can run here; says why not when they cannot.
fn installed() -> bool {
    let found = ["redis-server", "redis-cli"]
        .iter()
        .all(|program| Command::new(program).arg("--version").output().is_ok());
    if !found {
        assert!(
            std::env::var_os("REQUIRE_REDIS").is_none(),
            "REQUIRE_REDIS is set but redis-server is not installed"
        );
        eprintln!(
            "skipping: redis-server is not installed (set REQUIRE_REDIS=1 to make this an error)"
        );
    }
    found
}

/// A free loopback port whose cluster bus port (+10000) is free too.
fn free_port() -> u16 {
    loop {
        let port = StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if port < 55_000 && StdListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

/// A scratch directory for one server's files, removed when the server is dropped.
fn scratch(port: u16) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tsj-redis-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One `redis-server`; stopped when dropped.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    args: Vec<String>,
    dir: PathBuf,
    scheme: &'static str,
}

impl RedisServer {
    /// A plain server on a free port.
    pub fn start() -> Option<RedisServer> {
        RedisServer::launch("redis", |port, _| vec!["--port".to_owned(), port.to_string()])
    }

    /// A server that speaks only TLS, with this certificate and key (PEM).
    pub fn start_tls(certificate_pem: &str, key_pem: &str) -> Option<RedisServer> {
        RedisServer::launch("rediss", |port, dir| {
            let (certificate, key) = (dir.join("server.pem"), dir.join("server.key"));
            std::fs::write(&certificate, certificate_pem).unwrap();
            std::fs::write(&key, key_pem).unwrap();
            let (certificate, key) = (certificate.to_str().unwrap(), key.to_str().unwrap());
            [
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--tls-cert-file",
                certificate,
                "--tls-key-file",
                key,
                "--tls-ca-cert-file",
                certificate,
                "--tls-auth-clients",
                "no",
            ]
            .map(str::to_owned)
            .to_vec()
        })
    }

    /// A server on a free port with the arguments `args` makes for that port and a scratch
    /// directory.
    fn launch(
        scheme: &'static str,
        args: impl FnOnce(u16, &std::path::Path) -> Vec<String>,
    ) -> Option<RedisServer> {
        if !installed() {
            return None;
        }
        let port = free_port();
        let dir = scratch(port);
        let args = args(port, &dir);
        let mut server = RedisServer { child: None, port, args, dir, scheme };
        server.restart();
        Some(server)
    }

    /// Start it again on the same port (after `stop`).
    pub fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(&self.args)
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        // Waiting for another process to listen, not for time to pass.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `redis://127.0.0.1:PORT/` (`rediss://localhost:PORT/` for a TLS server, the name its
    /// certificate carries).
    pub fn url(&self) -> String {
        match self.scheme {
            "rediss" => format!("rediss://localhost:{}/", self.port),
            _ => format!("redis://127.0.0.1:{}/", self.port),
        }
    }

    /// Seconds until `key` expires.
    pub async fn ttl(&self, key: &str) -> i64 {
        let client = redis::Client::open(self.url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        redis::cmd("TTL").arg(key).query_async(&mut connection).await.unwrap()
    }

    /// The keys matching `pattern`.
    pub async fn keys(&self, pattern: &str) -> Vec<String> {
        let client = redis::Client::open(self.url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        redis::cmd("KEYS").arg(pattern).query_async(&mut connection).await.unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis Cluster of three masters (no replicas) on loopback; stopped when dropped.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    pub fn start() -> Option<RedisCluster> {
        let mut nodes = Vec::new();
        for _ in 0..3 {
            let node = RedisServer::launch("redis", |port, _| {
                ["--port", &port.to_string(), "--cluster-enabled", "yes"]
                    .into_iter()
                    .chain(["--cluster-node-timeout", "2000"])
                    .map(str::to_owned)
                    .collect()
            })?;
            nodes.push(node);
        }
        let addresses: Vec<String> =
            nodes.iter().map(|node| format!("127.0.0.1:{}", node.port)).collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli --cluster create");
        assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stdout));
        // The nodes agree on the slot map through their cluster bus; wait until every one
        // says the cluster is up.
        let deadline = Instant::now() + Duration::from_secs(20);
        for node in &nodes {
            loop {
                let info = Command::new("redis-cli")
                    .args(["-p", &node.port.to_string(), "cluster", "info"])
                    .output()
                    .expect("redis-cli cluster info");
                if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                    break;
                }
                assert!(Instant::now() < deadline, "the cluster did not come up");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Some(RedisCluster { nodes })
    }

    /// The URLs of its nodes.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The hash slot of `key`.
    pub fn keyslot(&self, key: &str) -> u16 {
        let slot = Command::new("redis-cli")
            .args(["-p", &self.nodes[0].port.to_string(), "cluster", "keyslot", key])
            .output()
            .expect("redis-cli cluster keyslot");
        String::from_utf8_lossy(&slot.stdout).trim().parse().expect("a slot number")
    }
}

/// Something on a loopback port that a store takes for Redis: a delaying proxy in front of a
/// real server, or a fake one. It stops when dropped.
pub struct StandIn {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl StandIn {
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A server speaking just enough RESP to be taken for Redis: `+OK` to every command but
    /// `MGET`, which gets `mget_reply` (raw RESP bytes), whatever it asked. What a broken proxy
    /// or a misbehaving server could send.
    pub async fn answering_mget(mget_reply: &'static [u8]) -> StandIn {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut pending = Vec::new();
                    let mut buffer = [0u8; 4096];
                    while let Ok(read @ 1..) = stream.read(&mut buffer).await {
                        pending.extend_from_slice(&buffer[..read]);
                        while let Some((name, used)) = command(&pending) {
                            pending.drain(..used);
                            let reply: &[u8] = if name.eq_ignore_ascii_case("MGET") {
                                mget_reply
                            } else {
                                b"+OK\r\n"
                            };
                            if stream.write_all(reply).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        StandIn { port, task }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The name of the first complete RESP command in `bytes`, and how many bytes it takes.
fn command(bytes: &[u8]) -> Option<(String, usize)> {
    let line = |at: usize| -> Option<(&[u8], usize)> {
        let end = bytes.get(at..)?.windows(2).position(|w| w == b"\r\n")? + at;
        Some((&bytes[at..end], end + 2))
    };
    let (head, mut at) = line(0)?;
    let count: usize = std::str::from_utf8(head.strip_prefix(b"*")?).ok()?.parse().ok()?;
    let mut name = String::new();
    for index in 0..count {
        let (length, next) = line(at)?;
        let length: usize = std::str::from_utf8(length.strip_prefix(b"$")?).ok()?.parse().ok()?;
        let argument = bytes.get(next..next + length)?;
        if index == 0 {
            name = String::from_utf8_lossy(argument).into_owned();
        }
        at = next + length + 2;
        if bytes.len() < at {
            return None;
        }
    }
    Some((name, at))
}
