//! Which cryptography backend signs and verifies tokens.
//!
//! jsonwebtoken 11 delegates the cryptography to a [`CryptoProvider`]. This crate never relies on
//! jsonwebtoken's process-wide default (which panics when both of its backends are compiled in):
//! it picks the provider itself, at compile time, from its own features.

use jsonwebtoken::crypto::CryptoProvider;

#[cfg(not(any(feature = "rust_crypto", feature = "aws_lc_rs")))]
compile_error!(
    "tower-sliding-jwt needs a crypto backend: enable the `aws_lc_rs` (default) or the \
     `rust_crypto` feature"
);

/// The cryptography backend compiled into this build.
///
/// Chosen by the crate features: `aws_lc_rs` (the default: the fastest verification) or
/// `rust_crypto` (pure Rust, no C compiler needed).
/// When both are enabled (as `--all-features` does), `aws_lc_rs` is used, always; the choice is
/// never left to chance. [`CryptoBackend::ACTIVE`] tells which one a build uses.
///
/// ```
/// use tower_sliding_jwt::CryptoBackend;
///
/// println!("tokens are signed with {}", CryptoBackend::ACTIVE);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoBackend {
    /// The RustCrypto crates (feature `rust_crypto`).
    RustCrypto,
    /// aws-lc-rs (feature `aws_lc_rs`).
    AwsLcRs,
}

impl CryptoBackend {
    /// The backend this build uses.
    #[cfg(feature = "aws_lc_rs")]
    pub const ACTIVE: CryptoBackend = CryptoBackend::AwsLcRs;
    /// The backend this build uses.
    #[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
    pub const ACTIVE: CryptoBackend = CryptoBackend::RustCrypto;

    /// The backend's name, as the crate feature spells it.
    pub const fn name(self) -> &'static str {
        match self {
            CryptoBackend::RustCrypto => "rust_crypto",
            CryptoBackend::AwsLcRs => "aws_lc_rs",
        }
    }
}

impl std::fmt::Display for CryptoBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The provider of the active backend.
pub(crate) fn provider() -> &'static CryptoProvider {
    #[cfg(feature = "aws_lc_rs")]
    {
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
    }
    #[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
    {
        &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_is_the_one_the_features_select() {
        // aws-lc-rs when it is compiled in (alone or with rust_crypto), RustCrypto otherwise.
        let expected = if cfg!(feature = "aws_lc_rs") { "aws_lc_rs" } else { "rust_crypto" };
        assert_eq!(CryptoBackend::ACTIVE.name(), expected);
        println!("crypto backend under test: {}", CryptoBackend::ACTIVE);
    }
}
