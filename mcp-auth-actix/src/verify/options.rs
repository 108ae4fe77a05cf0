//! [`JwtOptions`]: how JWT access tokens are verified, for every resource,
//! and its [`KeyRefreshPolicy`]: when the JWKS is refetched.

use std::time::Duration;

use jsonwebtoken::Algorithm;

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

/// When and how often the JWKS is refetched.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KeyRefreshPolicy {
    /// Freshness when the JWKS response has no `Cache-Control: max-age`.
    /// Default: 10 min.
    pub(crate) default_max_age: Duration,
    /// Bounds applied to the server's `max-age`. Default: 1 min ..= 24 h.
    pub(crate) min_max_age: Duration,
    /// Upper bound for `max-age`.
    pub(crate) max_max_age: Duration,
    /// Refreshes allowed in a burst for unknown `kid`s. Default: 3.
    pub(crate) unknown_kid_burst: u32,
    /// One refresh token is regained per this interval. Default: 10 s.
    pub(crate) unknown_kid_refill: Duration,
    /// How long a `kid` absent after a refresh is refused without fetching.
    /// Default: 30 s.
    pub(crate) negative_ttl: Duration,
}

impl Default for KeyRefreshPolicy {
    fn default() -> Self {
        Self {
            default_max_age: Duration::from_secs(600),
            min_max_age: Duration::from_secs(60),
            max_max_age: Duration::from_secs(24 * 3600),
            unknown_kid_burst: 3,
            unknown_kid_refill: Duration::from_secs(10),
            negative_ttl: Duration::from_secs(30),
        }
    }
}

impl KeyRefreshPolicy {
    /// Freshness of a JWKS whose response has no `Cache-Control: max-age`.
    pub fn default_max_age(mut self, age: Duration) -> Self {
        self.default_max_age = age;
        self
    }

    /// Bounds applied to the server's `max-age` (`min ..= max`).
    pub fn max_age_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.min_max_age = min;
        self.max_max_age = max;
        self
    }

    /// Refreshes for unknown `kid`s: `burst` at once, one more per `refill`.
    pub fn unknown_kid_budget(mut self, burst: u32, refill: Duration) -> Self {
        self.unknown_kid_burst = burst;
        self.unknown_kid_refill = refill;
        self
    }

    /// How long a `kid` absent after a refresh is refused without fetching.
    pub fn negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = ttl;
        self
    }

    /// Why this policy cannot work, if it cannot.
    pub(crate) fn problem(&self) -> Option<&'static str> {
        if self.min_max_age > self.max_max_age {
            Some("`min_max_age` is greater than `max_max_age`")
        } else if self.unknown_kid_refill.is_zero() {
            Some("`unknown_kid_refill` must be positive")
        } else {
            None
        }
    }
}
