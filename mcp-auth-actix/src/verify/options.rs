//! [`JwtOptions`]: how JWT access tokens are verified, for every resource.

use std::time::Duration;

use jsonwebtoken::Algorithm;

use super::KeyRefreshPolicy;

/// Default memory bound of a verified-token cache.
pub(crate) const DEFAULT_CACHE_BYTES: usize = 32 << 20;

/// Settings of the JWT verifier. The defaults are secure; relax them only
/// for a provider you know.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JwtOptions {
    /// Allowed `alg` values. Only asymmetric algorithms can be configured
    /// (HMAC with keys from a JWKS is an algorithm-confusion attack).
    /// Default: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA.
    pub(crate) algorithms: Vec<Algorithm>,
    /// Clock skew tolerated for `exp`, `nbf` and `iat`. Default: 30 s.
    pub(crate) leeway: Duration,
    /// RFC 9068 strict profile: require `typ: at+jwt` and the claims `sub`,
    /// `client_id`, `iat` and `jti`. Default: off, because Entra ID, Auth0
    /// and Keycloak send `typ: JWT` (other `typ` values such as `dpop+jwt`
    /// are always rejected).
    pub(crate) strict_rfc9068: bool,
    /// Largest token accepted, in bytes. Default: 16 KiB.
    pub(crate) max_token_bytes: usize,
    /// Capacity of the verified-token cache per resource (0 disables it).
    /// Default: 10 000 tokens.
    pub(crate) cache_capacity: usize,
    /// Memory bound of that cache, estimated from the token sizes (0
    /// disables it). Default: 32 MiB.
    pub(crate) cache_max_bytes: usize,
    /// When the JWKS is refetched.
    pub(crate) key_refresh: KeyRefreshPolicy,
}

impl Default for JwtOptions {
    fn default() -> Self {
        use Algorithm::*;
        Self {
            algorithms: vec![
                RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA,
            ],
            leeway: Duration::from_secs(30),
            strict_rfc9068: false,
            max_token_bytes: 16 * 1024,
            cache_capacity: 10_000,
            cache_max_bytes: DEFAULT_CACHE_BYTES,
            key_refresh: KeyRefreshPolicy::default(),
        }
    }
}

impl JwtOptions {
    /// The largest clock-skew leeway `build()` accepts: 5 minutes.
    pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

    /// Sets [`algorithms`](Self::algorithms).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Sets [`leeway`](Self::leeway) (at most [`MAX_LEEWAY`](Self::MAX_LEEWAY),
    /// checked by `build()`).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Sets [`strict_rfc9068`](Self::strict_rfc9068).
    pub fn strict_rfc9068(mut self, strict: bool) -> Self {
        self.strict_rfc9068 = strict;
        self
    }

    /// Sets [`max_token_bytes`](Self::max_token_bytes): tokens longer than
    /// this are refused before any parsing. Default: 16 KiB.
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// Sets [`cache_capacity`](Self::cache_capacity).
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Sets [`cache_max_bytes`](Self::cache_max_bytes).
    pub fn cache_max_bytes(mut self, bytes: usize) -> Self {
        self.cache_max_bytes = bytes;
        self
    }

    /// Sets [`key_refresh`](Self::key_refresh).
    pub fn key_refresh(mut self, policy: KeyRefreshPolicy) -> Self {
        self.key_refresh = policy;
        self
    }
}
