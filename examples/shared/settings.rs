//! Configuration shared by the example servers, from the environment: `BIND`, `JWT_SECRET`,
//! `JWT_ISSUER`, `TOKEN_TTL_SECS`, `REFRESH_WITHIN_SECS`, `MAX_SESSION_SECS`, `REFRESH_MODE`. The three
//! servers read the same variables, so a token from the axum demo's login works against the hyper
//! and gRPC servers started with the same secret.

use std::time::Duration;

use tower_sliding_jwt::RenewalMode;

/// Configuration from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: String,
    pub secret: Vec<u8>,
    /// `JWT_SECRET` was unset and a random secret was generated.
    pub secret_generated: bool,
    pub issuer: String,
    pub token_lifetime: Duration,
    pub refresh_within: Duration,
    pub session_limit: Duration,
    pub mode: RenewalMode,
}

impl Settings {
    /// Read the process environment, with `default_bind` for `BIND`.
    pub fn from_env(default_bind: &str) -> Result<Settings, String> {
        let get = |name: &str| std::env::var(name).ok();
        let secs =
            |name: &str, default: u64| -> Result<Duration, String> {
                match get(name) {
                    None => Ok(Duration::from_secs(default)),
                    Some(v) => v.trim().parse().map(Duration::from_secs).map_err(|_| {
                        format!("{name} must be a whole number of seconds, not {v:?}")
                    }),
                }
            };
        let (secret, secret_generated) = match get("JWT_SECRET") {
            Some(secret) if secret.len() >= 32 => (secret.into_bytes(), false),
            Some(secret) => {
                return Err(format!(
                    "JWT_SECRET is {} bytes long; HS256 needs at least 32",
                    secret.len()
                ));
            }
            None => {
                let mut secret = vec![0u8; 32];
                getrandom::fill(&mut secret).map_err(|e| format!("no randomness: {e}"))?;
                (secret, true)
            }
        };
        let mode = match get("REFRESH_MODE").as_deref().map(str::trim) {
            None | Some("inject") => RenewalMode::Inject,
            Some("advise") => RenewalMode::Advise,
            Some(other) => {
                return Err(format!("REFRESH_MODE must be inject or advise, not {other:?}"));
            }
        };
        Ok(Settings {
            bind: get("BIND").unwrap_or_else(|| default_bind.to_owned()),
            secret,
            secret_generated,
            issuer: get("JWT_ISSUER").unwrap_or_else(|| "demo".to_owned()),
            token_lifetime: secs("TOKEN_TTL_SECS", 300)?,
            refresh_within: secs("REFRESH_WITHIN_SECS", 150)?,
            session_limit: secs("MAX_SESSION_SECS", 86_400)?,
            mode,
        })
    }
}
