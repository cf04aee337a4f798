//! The demo's users and their password check. Passwords are stored only as Argon2id hashes.

use std::sync::{Arc, Mutex, PoisonError};

use argon2::password_hash::Output;
use argon2::{Argon2, Block, Params, PasswordHash, Version};
use tokio::sync::oneshot;

/// A demo user. Passwords are stored only as Argon2id hashes.
pub struct User {
    pub id: u64,
    pub name: &'static str,
    password_hash: &'static str,
}

const USERS: [User; 2] = [
    User {
        id: 1,
        name: "admin",
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$dHNqLWRlbW8tYWRtaW4tc2FsdA$RqVZrzNRZmIcVQCZLKqZab+Gu6uUE4BhPU6lzXHwgvI",
    },
    User {
        id: 2,
        name: "alice",
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$dHNqLWRlbW8tYWxpY2Utc2FsdA$1owEOMxiLl/PQtYdEh/chERIt9VGsXER1aC+KCgW3DY",
    },
];

/// A login to check: the user's name and password, and where to send the user if they match.
type Check = (String, String, oneshot::Sender<Option<&'static User>>);

/// Checks passwords on two dedicated threads, each with its own Argon2 working memory.
///
/// Argon2 is slow and memory-hard on purpose (19 MiB per hash). On the async workers it would
/// stall other requests. Allocating 19 MiB per login, the allocator kept most of it (the soak
/// test saw the server grow to several GiB); two long-lived threads that reuse their buffers
/// bound both the CPU and the memory. Other logins wait their turn.
#[derive(Clone)]
pub struct PasswordChecker {
    queue: std::sync::mpsc::SyncSender<Check>,
}

impl PasswordChecker {
    pub fn new(threads: usize) -> PasswordChecker {
        let (queue, jobs) = std::sync::mpsc::sync_channel::<Check>(64);
        let jobs = Arc::new(Mutex::new(jobs));
        for _ in 0..threads {
            let jobs = Arc::clone(&jobs);
            std::thread::spawn(move || {
                let mut memory = Vec::new();
                loop {
                    let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    let Ok((name, password, reply)) = job else {
                        return;
                    };
                    let _ = reply.send(check_password(&name, &password, &mut memory));
                }
            });
        }
        PasswordChecker { queue }
    }

    /// The user, if the password matches.
    pub async fn check(&self, name: String, password: String) -> Option<&'static User> {
        let (reply, answer) = oneshot::channel();
        let queue = self.queue.clone();
        // `send` blocks only when 64 logins are already waiting.
        tokio::task::spawn_blocking(move || queue.send((name, password, reply)))
            .await
            .ok()?
            .ok()?;
        answer.await.ok().flatten()
    }
}

/// The user, if the password matches. `memory` is the thread's Argon2 working memory, reused
/// across logins so a login allocates nothing. An unknown user costs the same hash as a known
/// one, so response times do not tell which user names exist.
fn check_password(name: &str, password: &str, memory: &mut Vec<Block>) -> Option<&'static User> {
    let user = USERS.iter().find(|u| u.name == name);
    let stored = PasswordHash::new(user.unwrap_or(&USERS[0]).password_hash).ok()?;
    let expected = stored.hash?;
    let params = Params::try_from(&stored).ok()?;
    let algorithm = argon2::Algorithm::try_from(stored.algorithm).ok()?;
    let version = stored.version.map_or(Ok(Version::default()), Version::try_from).ok()?;
    let mut salt = [0u8; 64];
    let salt = stored.salt?.decode_b64(&mut salt).ok()?;
    memory.resize(params.block_count(), Block::default());
    let mut computed = [0u8; 64];
    let computed = &mut computed[..expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, computed, &mut memory[..])
        .ok()?;
    // `Output` compares in constant time.
    let matches = Output::new(computed).ok()? == expected;
    user.filter(|_| matches)
}
