//! JWT access tokens (RFC 9068 / RFC 8725): parse once, pin the issuer before
//! any network I/O, pick the key by `kid` and `alg`, verify the signature,
//! then apply the claim policy.

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{ClaimPolicy, JwtOptions, Key, claims::untrusted_issuer, jwks::Lookup};
use crate::auth_server::AuthServer;
use crate::error::{AuthError, Reason};

/// The JOSE header members we act on. `jku`, `jwk`, `x5u` and `x5c` are
/// deliberately ignored: keys only ever come from the issuer's `jwks_uri`.
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

/// A token that passed every check, with the key that signed it.
pub(crate) struct VerifiedJwt {
    pub(crate) claims: Map<String, Value>,
    pub(crate) key: Arc<Key>,
}

pub(crate) struct JwtVerifier {
    pub(crate) options: JwtOptions,
}

fn malformed() -> AuthError {
    AuthError::invalid_token(
        Reason::Malformed,
        "The access token is not a well-formed JWT.",
    )
}

fn decode_json<T: for<'de> Deserialize<'de>>(segment: &str) -> Result<T, AuthError> {
    let bytes = URL_SAFE_NO_PAD.decode(segment).map_err(|_| malformed())?;
    serde_json::from_slice(&bytes).map_err(|_| malformed())
}

/// Asymmetric JWS algorithms; `none` and HS* are not representable here.
fn asymmetric(alg: &str) -> Option<Algorithm> {
    Some(match alg {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

impl JwtVerifier {
    pub(crate) async fn verify(
        &self,
        token: &str,
        servers: &[Arc<AuthServer>],
        policy: &ClaimPolicy,
        now: u64,
    ) -> Result<VerifiedJwt, AuthError> {
        if token.len() > self.options.max_token_bytes {
            return Err(AuthError::invalid_token(
                Reason::TooLarge,
                "The access token is too large.",
            ));
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        let header: Header = decode_json(header_b64)?;
        let alg = asymmetric(&header.alg)
            .filter(|a| self.options.algorithms.contains(a))
            .ok_or_else(|| {
                AuthError::invalid_token(
                    Reason::Algorithm,
                    "The access token's signing algorithm is not allowed.",
                )
            })?;
        if header.crit.is_some() {
            return Err(AuthError::invalid_token(
                Reason::Critical,
                "The access token uses critical header extensions this server does not understand.",
            ));
        }
        self.check_typ(header.typ.as_deref())?;
        let claims: Map<String, Value> = decode_json(payload_b64)?;

        // Issuer first: never touch the network for an issuer we do not trust.
        let server = match claims.get("iss") {
            Some(Value::String(iss)) => servers
                .iter()
                .find(|s| s.trusted().accepts(iss, &claims))
                .ok_or_else(|| untrusted_issuer(iss, servers.iter().map(|s| s.trusted())))?,
            _ => {
                return Err(AuthError::invalid_token(
                    Reason::Issuer,
                    "The token has no valid `iss` claim.",
                ));
            }
        };
        let resolved = server.resolved().await?;
        let keys = resolved.keys.clone().ok_or_else(|| {
            AuthError::server_error(format!(
                "authorization server `{}` publishes no `jwks_uri`; JWT access tokens cannot be verified",
                server.issuer()
            ))
        })?;
        let candidates = match keys.lookup(header.kid.as_deref(), alg).await? {
            Lookup::Keys(keys) => keys,
            Lookup::NoKey => {
                return Err(AuthError::invalid_token(
                    Reason::UnknownKey,
                    "No published key of the issuer matches the access token (`kid`/`alg`).",
                ));
            }
        };
        let message = &token[..header_b64.len() + 1 + payload_b64.len()];
        let key = candidates
            .into_iter()
            .find(|key| {
                jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key.decoding, alg)
                    .unwrap_or(false)
            })
            .ok_or_else(|| {
                AuthError::invalid_token(
                    Reason::Signature,
                    "The access token's signature is invalid.",
                )
            })?;
        policy.check(&claims, now)?;
        Ok(VerifiedJwt { claims, key })
    }

    /// RFC 9068 `typ`: required in strict mode; otherwise absent and `JWT`
    /// are tolerated, but a type naming another kind of JWT is refused.
    fn check_typ(&self, typ: Option<&str>) -> Result<(), AuthError> {
        let typ = typ.map(|t| t.strip_prefix("application/").unwrap_or(t));
        let at_jwt = typ.is_some_and(|t| t.eq_ignore_ascii_case("at+jwt"));
        let lenient_ok = typ.is_none_or(|t| t.eq_ignore_ascii_case("jwt"));
        if at_jwt || (!self.options.strict_rfc9068 && lenient_ok) {
            Ok(())
        } else {
            Err(AuthError::invalid_token(
                Reason::TokenType,
                "The token is not a JWT access token (`typ` must be `at+jwt`).",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typ_rules() {
        let lenient = JwtVerifier {
            options: JwtOptions::default(),
        };
        let strict = JwtVerifier {
            options: JwtOptions::default().strict_rfc9068(true),
        };
        for typ in [Some("at+jwt"), Some("application/at+jwt"), Some("at+JWT")] {
            assert!(
                lenient.check_typ(typ).is_ok() && strict.check_typ(typ).is_ok(),
                "{typ:?}"
            );
        }
        for typ in [None, Some("JWT")] {
            assert!(
                lenient.check_typ(typ).is_ok() && strict.check_typ(typ).is_err(),
                "{typ:?}"
            );
        }
        for typ in [Some("dpop+jwt"), Some("id_token+jwt"), Some("")] {
            assert!(lenient.check_typ(typ).is_err(), "{typ:?}");
        }
    }

    #[test]
    fn only_asymmetric_algorithms() {
        for alg in ["none", "HS256", "HS512", "ES512", "rs256", ""] {
            assert!(asymmetric(alg).is_none(), "{alg}");
        }
        assert_eq!(asymmetric("EdDSA"), Some(Algorithm::EdDSA));
    }
}
