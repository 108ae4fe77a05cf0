//! Token verification: JWT access tokens against the authorization server's
//! JWKS ([`JwtOptions`]), RFC 7662 introspection ([`Introspection`]) or a
//! custom [`TokenVerifier`]. Whatever produced the claims, the same
//! claim policy then checks issuer, audience and lifetime.

mod cache;
mod introspection;
mod jwks;
mod jwt;
pub(crate) mod resource;
mod server;

use std::{
    future::Future,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use futures_util::future::LocalBoxFuture;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

pub(crate) use cache::TokenCache;
pub(crate) use introspection::IntrospectionVerifier;
pub use introspection::{ClientAuth, Introspection};
pub(crate) use jwks::Key;
pub use jwks::KeyRefreshPolicy;
#[cfg(feature = "fuzzing")]
pub(crate) use jwks::parse_jwks;
pub(crate) use jwt::JwtVerifier;
pub(crate) use server::AuthServer;

use crate::error::{AuthError, Reason};

/// The claims of a verified token as a JSON object (JWT payload or
/// introspection response).
pub type VerifiedClaims = Map<String, Value>;

/// Settings of the JWT verifier. The defaults are secure; relax them only
/// for a provider you know.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JwtOptions {
    /// Allowed `alg` values. Only asymmetric algorithms can be configured
    /// (HMAC with keys from a JWKS is an algorithm-confusion attack).
    /// Default: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA.
    pub algorithms: Vec<Algorithm>,
    /// Clock skew tolerated for `exp`, `nbf` and `iat`. Default: 30 s.
    pub leeway: Duration,
    /// RFC 9068 strict profile: require `typ: at+jwt` and the claims `sub`,
    /// `client_id`, `iat` and `jti`. Default: off, because Entra ID, Auth0
    /// and Keycloak send `typ: JWT` (other `typ` values such as `dpop+jwt`
    /// are always rejected).
    pub strict_rfc9068: bool,
    /// Largest token accepted, in bytes. Default: 16 KiB.
    pub max_token_bytes: usize,
    /// Capacity of the verified-token cache per resource (0 disables it).
    /// Default: 10 000 tokens.
    pub cache_capacity: usize,
    /// Memory bound of that cache, estimated from the token sizes (0
    /// disables it). Default: 32 MiB.
    pub cache_max_bytes: usize,
    /// When the JWKS is refetched.
    pub key_refresh: KeyRefreshPolicy,
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

/// Why a custom verifier refused a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The token is not valid: 401 `invalid_token`.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The verifier could not decide (backend down): 503.
    #[error("verifier unavailable: {0}")]
    Unavailable(String),
}

/// Verifies opaque (or otherwise custom) access tokens.
///
/// Return the token's claims; the crate still checks `aud` (required, must
/// name the resource), `exp`/`nbf` when present and `iss` when present
/// (must be one of the resource's authorization servers).
///
/// Implemented for closures `Fn(String) -> impl Future<Output = Result<VerifiedClaims, VerifyError>>`.
pub trait TokenVerifier: Send + Sync + 'static {
    /// Verifies `token`.
    fn verify(&self, token: &str) -> LocalBoxFuture<'static, Result<VerifiedClaims, VerifyError>>;
}

impl<F, Fut> TokenVerifier for F
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<VerifiedClaims, VerifyError>> + 'static,
{
    fn verify(&self, token: &str) -> LocalBoxFuture<'static, Result<VerifiedClaims, VerifyError>> {
        Box::pin(self(token.to_owned()))
    }
}

/// Default memory bound of a verified-token cache.
pub(crate) const DEFAULT_CACHE_BYTES: usize = 32 << 20;

/// `now + after` without overflow: configured or claimed durations can be
/// absurd (`exp` in the year 10^15), and `Instant + Duration` would panic.
pub(crate) fn deadline(after: Duration) -> std::time::Instant {
    const CAP: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
    std::time::Instant::now() + after.min(CAP)
}

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The checks every verified token goes through, built once per resource.
#[derive(Debug)]
pub(crate) struct ClaimPolicy {
    pub(crate) issuers: Vec<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) leeway: u64,
    /// JWTs must carry `iss` and `exp`; introspection/custom results may omit them.
    pub(crate) require_iss_exp: bool,
    pub(crate) strict: bool,
}

impl ClaimPolicy {
    /// A JWT policy for `https://api.example/mcp` trusting
    /// `https://as.example` (unit tests and fuzzing).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn example() -> Self {
        Self {
            issuers: vec!["https://as.example".into()],
            audiences: vec!["https://api.example/mcp".into()],
            leeway: 30,
            require_iss_exp: true,
            strict: false,
        }
    }

    pub(crate) fn check(&self, claims: &Map<String, Value>, now: u64) -> Result<(), AuthError> {
        match claims.get("iss") {
            Some(Value::String(iss)) if self.issuers.iter().any(|t| t == iss) => {}
            Some(Value::String(_)) => {
                return Err(AuthError::invalid_token(
                    Reason::Issuer,
                    "The token was issued by an untrusted issuer.",
                ));
            }
            Some(_) => {
                return Err(AuthError::invalid_token(
                    Reason::Issuer,
                    "The `iss` claim is malformed.",
                ));
            }
            None if self.require_iss_exp => {
                return Err(AuthError::invalid_token(
                    Reason::Issuer,
                    "The token has no `iss` claim.",
                ));
            }
            None => {}
        }
        match numeric_claim(claims, "exp")? {
            Some(exp) if exp + self.leeway as f64 <= now as f64 => {
                return Err(AuthError::invalid_token(
                    Reason::Expired,
                    "The access token has expired.",
                ));
            }
            None if self.require_iss_exp => {
                return Err(AuthError::invalid_token(
                    Reason::Claims,
                    "The token has no `exp` claim.",
                ));
            }
            _ => {}
        }
        if let Some(nbf) = numeric_claim(claims, "nbf")?
            && nbf > now.saturating_add(self.leeway) as f64
        {
            return Err(AuthError::invalid_token(
                Reason::NotYetValid,
                "The access token is not valid yet (`nbf`).",
            ));
        }
        if let Some(iat) = numeric_claim(claims, "iat")?
            && iat > now.saturating_add(self.leeway) as f64
        {
            return Err(AuthError::invalid_token(
                Reason::NotYetValid,
                "The access token was issued in the future (`iat`).",
            ));
        }
        let aud_ok = match claims.get("aud") {
            Some(Value::String(aud)) => self.audience_matches(aud),
            Some(Value::Array(auds)) => auds
                .iter()
                .any(|a| a.as_str().is_some_and(|a| self.audience_matches(a))),
            _ => false,
        };
        if !aud_ok {
            return Err(AuthError::invalid_token(
                Reason::Audience,
                "The access token was not issued for this resource (`aud`).",
            ));
        }
        if self.strict {
            for claim in ["sub", "client_id", "jti"] {
                if claims
                    .get(claim)
                    .is_none_or(|v| v.as_str().is_none_or(str::is_empty))
                {
                    return Err(AuthError::invalid_token(
                        Reason::Claims,
                        format!("The access token has no `{claim}` claim (RFC 9068 profile)."),
                    ));
                }
            }
            if !claims.contains_key("iat") {
                return Err(AuthError::invalid_token(
                    Reason::Claims,
                    "The access token has no `iat` claim (RFC 9068 profile).",
                ));
            }
        }
        Ok(())
    }

    /// Exact match; scheme and host compared case-insensitively (MCP
    /// "Canonical Server URI"), the rest byte for byte. Never a prefix match.
    fn audience_matches(&self, aud: &str) -> bool {
        self.audiences.iter().any(|expected| {
            expected == aud
                || matches!((split_origin(expected), split_origin(aud)),
                    (Some((eo, ep)), Some((ao, ap))) if eo.eq_ignore_ascii_case(ao) && ep == ap)
        })
    }
}

/// `scheme://authority` and the rest of a URL-like string.
fn split_origin(s: &str) -> Option<(&str, &str)> {
    let start = s.find("://")? + 3;
    let end = s[start..].find('/').map_or(s.len(), |j| start + j);
    Some(s.split_at(end))
}

/// The last second of year 9999: NumericDates beyond it (or before 1970)
/// are refused, so no later arithmetic on them can overflow.
pub(crate) const MAX_NUMERIC_DATE: f64 = 253_402_300_799.0;

/// A NumericDate claim; integers and floats in 0 ..= year 9999 are
/// accepted, anything else is an error.
fn numeric_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<f64>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|v| (0.0..=MAX_NUMERIC_DATE).contains(v))
            .map(Some)
            .ok_or_else(|| {
                AuthError::invalid_token(
                    Reason::Claims,
                    format!("The `{name}` claim is out of range."),
                )
            }),
        Some(_) => Err(AuthError::invalid_token(
            Reason::Claims,
            format!("The `{name}` claim is not a number."),
        )),
    }
}

/// Scopes from `scope` (space-delimited string, RFC 9068 §2.2.3) and `scp`
/// (array, as Entra ID and Okta send), de-duplicated in order.
pub(crate) fn scopes_of(claims: &Map<String, Value>) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        if !s.is_empty() && !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_owned());
        }
    };
    for name in ["scope", "scp"] {
        match claims.get(name) {
            Some(Value::String(s)) => s.split_ascii_whitespace().for_each(&mut push),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).for_each(&mut push),
            _ => {}
        }
    }
    scopes
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn policy() -> ClaimPolicy {
        ClaimPolicy::example()
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn claim_table() {
        let now = 1_000_000;
        let ok =
            json!({"iss": "https://as.example", "aud": "https://api.example/mcp", "exp": now + 60});
        let cases: Vec<(Value, bool)> = vec![
            (ok.clone(), true),
            (
                json!({"iss": "https://as.example", "aud": ["x", "https://api.example/mcp"], "exp": now + 60}),
                true,
            ),
            (
                json!({"iss": "https://as.example", "aud": "HTTPS://API.EXAMPLE/mcp", "exp": now + 60}),
                true,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/MCP", "exp": now + 60}),
                false,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mcp-evil", "exp": now + 60}),
                false,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mc", "exp": now + 60}),
                false,
            ),
            (json!({"iss": "https://as.example", "exp": now + 60}), false),
            (
                json!({"iss": "https://as.example", "aud": [], "exp": now + 60}),
                false,
            ),
            (
                json!({"iss": "https://as.example/", "aud": "https://api.example/mcp", "exp": now + 60}),
                false,
            ),
            (
                json!({"aud": "https://api.example/mcp", "exp": now + 60}),
                false,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mcp"}),
                false,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mcp", "exp": now - 31}),
                false,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mcp", "exp": now - 5}),
                true,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mcp", "exp": (now + 60) as f64 + 0.5}),
                true,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mcp", "exp": "soon"}),
                false,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mcp", "exp": now + 60, "nbf": now + 600}),
                false,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mcp", "exp": now + 60, "nbf": now + 10}),
                true,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mcp", "exp": now + 60, "iat": now + 600}),
                false,
            ),
            (
                json!({"iss": 5, "aud": "https://api.example/mcp", "exp": now + 60}),
                false,
            ),
        ];
        for (c, expect) in cases {
            assert_eq!(
                policy().check(&claims(c.clone()), now).is_ok(),
                expect,
                "{c}"
            );
        }
        let strict = ClaimPolicy {
            strict: true,
            ..policy()
        };
        assert!(strict.check(&claims(ok), now).is_err());
        let full = json!({"iss": "https://as.example", "aud": "https://api.example/mcp", "exp": now + 60,
            "sub": "u", "client_id": "c", "jti": "j", "iat": now});
        assert!(strict.check(&claims(full), now).is_ok());
    }

    #[test]
    fn scopes_from_scope_and_scp() {
        let c = claims(json!({"scope": " read  write read", "scp": ["admin", "write", 3]}));
        assert_eq!(scopes_of(&c), ["read", "write", "admin"]);
        assert!(scopes_of(&claims(json!({}))).is_empty());
    }
}
