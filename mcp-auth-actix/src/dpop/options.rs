//! [`DpopMode`], [`DpopOptions`] and [`NonceKey`]: how DPoP proofs (RFC 9449)
//! are accepted.

use std::{fmt, sync::Arc, time::Duration};

use jsonwebtoken::Algorithm;

use super::{
    error::DpopError,
    nonce,
    replay::{MemoryReplayStore, ReplayStore},
};

/// Whether a resource accepts or requires DPoP-bound access tokens.
///
/// Whatever the mode, a token bound to a key (`cnf.jkt`) is only accepted
/// with a valid proof of that key: such a token sent as `Bearer` is refused
/// (RFC 9449 §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DpopMode {
    /// The `DPoP` scheme is not offered; bound tokens are refused (the
    /// resource cannot check their proofs). The default.
    #[default]
    Off,
    /// `Bearer` and `DPoP` are both accepted; bound tokens need their proof.
    Allowed,
    /// Only DPoP-bound tokens with a valid proof are accepted.
    Required,
}

/// The server secret of stateless DPoP nonces (RFC 9449 §9).
///
/// A nonce is the number of the current time window and its HMAC-SHA-256
/// under this secret: any replica holding the same secret accepts it, and no
/// state is kept. A nonce is accepted during its window and the next one
/// (and one window early, for replicas whose clocks run a little ahead), so
/// it lives between one and two windows.
#[derive(Clone)]
pub struct NonceKey {
    pub(crate) secret: Arc<[u8]>,
    pub(crate) window: Duration,
}

impl fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceKey")
            .field("secret", &"<redacted>")
            .field("window", &self.window)
            .finish()
    }
}

impl NonceKey {
    /// The shortest secret `build()` accepts: 32 bytes.
    pub const MIN_SECRET_BYTES: usize = 32;
    /// The longest window `build()` accepts: 5 minutes.
    pub const MAX_WINDOW: Duration = Duration::from_secs(300);

    /// Nonces keyed by `secret` (at least [`MIN_SECRET_BYTES`](Self::MIN_SECRET_BYTES)
    /// random bytes, shared by every replica), in windows of 60 s.
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        Self {
            secret: Arc::from(secret.as_ref()),
            window: Duration::from_secs(60),
        }
    }

    /// Sets the window: whole seconds, 1 s to [`MAX_WINDOW`](Self::MAX_WINDOW).
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The window in seconds (at least 1).
    pub(crate) fn window_secs(&self) -> u64 {
        self.window.as_secs().max(1)
    }
}

/// Settings of DPoP proof verification. The defaults are secure.
#[derive(Clone)]
#[non_exhaustive]
pub struct DpopOptions {
    /// Allowed proof `alg` values: asymmetric only (HMAC and `none` can
    /// never be configured). Default: ES256, ES384, RS256, PS256, EdDSA.
    pub(crate) algorithms: Vec<Algorithm>,
    /// How far a proof's `iat` may be from the server's clock, either way.
    /// Default: 5 min; at most [`MAX_IAT_WINDOW`](Self::MAX_IAT_WINDOW).
    pub(crate) iat_window: Duration,
    /// Largest proof accepted, in bytes. Default: 8 KiB.
    pub(crate) max_proof_bytes: usize,
    /// Where used proofs are remembered. Default: a [`MemoryReplayStore`]
    /// (per process; share a store such as `RedisReplayStore` between
    /// replicas).
    pub(crate) replay: Arc<dyn ReplayStore>,
    /// Server nonces, when configured. Default: none.
    pub(crate) nonces: Option<NonceKey>,
}

impl fmt::Debug for DpopOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopOptions")
            .field("algorithms", &self.algorithms)
            .field("iat_window", &self.iat_window)
            .field("max_proof_bytes", &self.max_proof_bytes)
            .field("nonces", &self.nonces)
            .finish_non_exhaustive()
    }
}

impl Default for DpopOptions {
    fn default() -> Self {
        use Algorithm::*;
        Self {
            algorithms: vec![ES256, ES384, RS256, PS256, EdDSA],
            iat_window: Duration::from_secs(300),
            max_proof_bytes: 8 * 1024,
            replay: Arc::new(MemoryReplayStore::default()),
            nonces: None,
        }
    }
}

impl DpopOptions {
    /// The widest `iat` window `build()` accepts: 10 minutes.
    pub const MAX_IAT_WINDOW: Duration = Duration::from_secs(600);
    /// The largest `max_proof_bytes` `build()` accepts: 64 KiB.
    pub const MAX_PROOF_BYTES: usize = 64 * 1024;

    /// Sets [`algorithms`](Self::algorithms) (`build()` refuses HMAC and an
    /// empty list).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Sets [`iat_window`](Self::iat_window): whole seconds, 1 s to
    /// [`MAX_IAT_WINDOW`](Self::MAX_IAT_WINDOW).
    pub fn iat_window(mut self, window: Duration) -> Self {
        self.iat_window = window;
        self
    }

    /// Sets [`max_proof_bytes`](Self::max_proof_bytes): 512 bytes to
    /// [`MAX_PROOF_BYTES`](Self::MAX_PROOF_BYTES).
    pub fn max_proof_bytes(mut self, bytes: usize) -> Self {
        self.max_proof_bytes = bytes;
        self
    }

    /// Sets where used proofs are remembered (default: a
    /// [`MemoryReplayStore`] per `DpopOptions::default()`). A store that
    /// fails makes requests with proofs fail (503): never accepted unchecked.
    pub fn replay_store(mut self, store: impl ReplayStore) -> Self {
        self.replay = Arc::new(store);
        self
    }

    /// Requires server nonces (RFC 9449 §9) keyed by `key`: a proof without
    /// a current nonce is answered `use_dpop_nonce` with a fresh one.
    pub fn nonces(mut self, key: NonceKey) -> Self {
        self.nonces = Some(key);
        self
    }

    /// Why these options cannot work, if they cannot.
    pub(crate) fn problem(&self) -> Option<&'static str> {
        if self.algorithms.is_empty() {
            Some("`algorithms` is empty")
        } else if self.algorithms.iter().any(|alg| alg_name(*alg).is_none()) {
            Some("`algorithms` must be asymmetric (no HS256, HS384, HS512)")
        } else if self.iat_window < Duration::from_secs(1) || self.iat_window > Self::MAX_IAT_WINDOW
        {
            Some("`iat_window` must be between 1 s and 10 min")
        } else if !(512..=Self::MAX_PROOF_BYTES).contains(&self.max_proof_bytes) {
            Some("`max_proof_bytes` must be between 512 bytes and 64 KiB")
        } else if let Some(key) = &self.nonces {
            if key.secret.len() < NonceKey::MIN_SECRET_BYTES {
                Some("the nonce secret must be at least 32 bytes")
            } else if key.window < Duration::from_secs(1) || key.window > NonceKey::MAX_WINDOW {
                Some("the nonce window must be between 1 s and 5 min")
            } else {
                None
            }
        } else {
            None
        }
    }

    /// The `iat` window in seconds (at least 1).
    pub(crate) fn iat_window_secs(&self) -> u64 {
        self.iat_window.as_secs().max(1)
    }

    /// The allowed algorithms by name, for `dpop_signing_alg_values_supported`
    /// (RFC 9728) and the challenge's `algs` parameter (RFC 9449 §7.1).
    pub(crate) fn algorithm_names(&self) -> Vec<&'static str> {
        self.algorithms
            .iter()
            .filter_map(|a| alg_name(*a))
            .collect()
    }

    /// The nonce to send in `DPoP-Nonce` now, when nonces are configured
    /// (e.g. on successful responses, RFC 9449 §8.2).
    pub(crate) fn current_nonce(&self, now: u64) -> Result<Option<String>, DpopError> {
        match &self.nonces {
            Some(key) => Ok(Some(nonce::issue(key, now)?)),
            None => Ok(None),
        }
    }

    /// The server nonce key, when nonces are configured.
    pub(crate) fn nonce_key(&self) -> Option<&NonceKey> {
        self.nonces.as_ref()
    }
}

/// The JWS name of an asymmetric algorithm.
pub(crate) fn alg_name(alg: Algorithm) -> Option<&'static str> {
    use Algorithm::*;
    Some(match alg {
        RS256 => "RS256",
        RS384 => "RS384",
        RS512 => "RS512",
        PS256 => "PS256",
        PS384 => "PS384",
        PS512 => "PS512",
        ES256 => "ES256",
        ES384 => "ES384",
        EdDSA => "EdDSA",
        _ => return None,
    })
}

/// The asymmetric algorithm a JWS `alg` names (`none` and HMAC: `None`).
pub(crate) fn asymmetric(name: &str) -> Option<Algorithm> {
    use Algorithm::*;
    [
        RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA,
    ]
    .into_iter()
    .find(|a| alg_name(*a) == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_problems_are_found() {
        let ok = DpopOptions::default();
        assert_eq!(ok.problem(), None);
        assert_eq!(
            ok.algorithm_names(),
            ["ES256", "ES384", "RS256", "PS256", "EdDSA"]
        );
        let cases = [
            (DpopOptions::default().algorithms([]), "empty"),
            (
                DpopOptions::default().algorithms([Algorithm::ES256, Algorithm::HS256]),
                "asymmetric",
            ),
            (
                DpopOptions::default().iat_window(Duration::from_secs(601)),
                "iat_window",
            ),
            (
                DpopOptions::default().iat_window(Duration::ZERO),
                "iat_window",
            ),
            (
                DpopOptions::default().max_proof_bytes(100),
                "max_proof_bytes",
            ),
            (
                DpopOptions::default().max_proof_bytes(1 << 20),
                "max_proof_bytes",
            ),
            (
                DpopOptions::default().nonces(NonceKey::new(b"short")),
                "32 bytes",
            ),
            (
                DpopOptions::default()
                    .nonces(NonceKey::new([1u8; 32]).window(Duration::from_secs(3600))),
                "window",
            ),
        ];
        for (opts, needle) in cases {
            let problem = opts
                .problem()
                .unwrap_or_else(|| panic!("{opts:?} accepted"));
            assert!(problem.contains(needle), "{problem}");
        }
        assert_eq!(
            DpopOptions::default()
                .iat_window(DpopOptions::MAX_IAT_WINDOW)
                .nonces(NonceKey::new([1u8; 32]))
                .problem(),
            None
        );
    }

    #[test]
    fn only_asymmetric_algorithm_names() {
        for name in ["none", "HS256", "HS512", "ES512", "es256", "", "RS256 "] {
            assert_eq!(asymmetric(name), None, "{name}");
        }
        assert_eq!(asymmetric("EdDSA"), Some(Algorithm::EdDSA));
        assert_eq!(asymmetric("PS384"), Some(Algorithm::PS384));
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let text = format!(
            "{:?}",
            DpopOptions::default().nonces(NonceKey::new([0x41u8; 32]))
        );
        assert!(
            text.contains("redacted") && !text.contains("65, 65"),
            "{text}"
        );
    }
}
