//! Token verification: JWT access tokens against the authorization server's
//! JWKS ([`JwtOptions`]), RFC 7662 introspection ([`Introspection`]) or a
//! custom [`TokenVerifier`]. Whatever produced the claims, the same
//! claim policy then checks issuer, audience and lifetime.

mod cache;
mod claims;
mod introspection;
mod jwks;
mod jwt;
mod options;
pub(crate) mod resource;

use std::{
    future::Future,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use futures_util::future::LocalBoxFuture;
use serde_json::{Map, Value};

pub(crate) use cache::TokenCache;
pub(crate) use claims::{
    ClaimPolicy, DEFAULT_SCOPE_CLAIMS, IssuerHint, MAX_NUMERIC_DATE, TENANT_PLACEHOLDER,
    TrustedIssuer, differ_by_trailing_slash, scopes_of,
};
pub(crate) use introspection::IntrospectionVerifier;
pub use introspection::{ClientAuth, Introspection};
#[cfg(feature = "fuzzing")]
pub(crate) use jwks::parse_jwks;
pub(crate) use jwks::{Key, KeyStore};
pub(crate) use jwt::JwtVerifier;
pub(crate) use options::DEFAULT_CACHE_BYTES;
pub use options::{JwtOptions, KeyRefreshPolicy};

/// The claims of a verified token as a JSON object (JWT payload or
/// introspection response).
pub type VerifiedClaims = Map<String, Value>;

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
