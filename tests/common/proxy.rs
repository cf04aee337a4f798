//! A TCP proxy on loopback in front of a server (Redis, an identity provider), with faults to
//! turn on and off while traffic flows: replies held back for a while, or the link cut.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct FaultProxy {
    pub port: u16,
    faults: Arc<Faults>,
    task: tokio::task::JoinHandle<()>,
}

struct Faults {
    /// Milliseconds every reply chunk is held back (order kept).
    reply_delay: AtomicU64,
    /// While set, connections are closed as soon as they are accepted.
    cut: AtomicBool,
    /// Bumped by every cut: the connections open then are closed.
    cuts: watch::Sender<u64>,
}

impl FaultProxy {
    /// A proxy on a free port relaying to `127.0.0.1:target`, without faults.
    pub async fn start(target: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let faults = Arc::new(Faults {
            reply_delay: AtomicU64::new(0),
            cut: AtomicBool::new(false),
            cuts: watch::Sender::new(0),
        });
        let shared = Arc::clone(&faults);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if shared.cut.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                relay(Box::new(client_read), Box::new(server_write), &shared, false);
                relay(Box::new(server_read), Box::new(client_write), &shared, true);
            }
        });
        FaultProxy { port, faults, task }
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn redis_url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Hold every reply back this long from now on (zero: none).
    pub fn delay_replies(&self, delay: Duration) {
        let millis = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.faults.reply_delay.store(millis, Ordering::SeqCst);
    }

    /// A partition: every open connection is closed, and new ones are closed on arrival.
    pub fn cut(&self) {
        self.faults.cut.store(true, Ordering::SeqCst);
        self.faults.cuts.send_modify(|cuts| *cuts += 1);
    }

    /// The partition ends: new connections go through again.
    pub fn heal(&self) {
        self.faults.cut.store(false, Ordering::SeqCst);
    }
}

/// Copy `from` to `to` until either side ends or the link is cut; replies (`delayed`) go
/// through a queue, so holding them back never slows the reading.
fn relay(
    mut from: Box<dyn AsyncRead + Send + Unpin>,
    mut to: Box<dyn AsyncWrite + Send + Unpin>,
    faults: &Arc<Faults>,
    delayed: bool,
) {
    let (sender, mut receiver) =
        tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let (mut reader_cuts, mut writer_cuts) = (faults.cuts.subscribe(), faults.cuts.subscribe());
    let faults = Arc::clone(faults);
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = tokio::select! {
                read = from.read(&mut buffer) => read,
                _ = reader_cuts.changed() => return,
            };
            let Ok(read @ 1..) = read else { return };
            let delay = match delayed {
                true => Duration::from_millis(faults.reply_delay.load(Ordering::SeqCst)),
                false => Duration::ZERO,
            };
            let due = tokio::time::Instant::now() + delay;
            if sender.send((due, buffer[..read].to_vec())).is_err() {
                return;
            }
        }
    });
    tokio::spawn(async move {
        loop {
            tokio::select! {
                next = receiver.recv() => {
                    let Some((due, chunk)) = next else { break };
                    tokio::time::sleep_until(due).await;
                    if to.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
                _ = writer_cuts.changed() => return,
            }
        }
        let _ = to.shutdown().await;
    });
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
