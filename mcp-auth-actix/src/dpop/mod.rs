//! DPoP (RFC 9449): sender-constrained access tokens.
//!
//! A client proves, on every request, that it holds the private key its
//! access token is bound to: the `DPoP` request header carries a JWT signed
//! by that key, naming the request's method and URL, the time, a unique
//! `jti` and the hash of the access token (`ath`).
//!
//! This module is the verification core: [`DpopOptions`] (what is
//! accepted), `verify_proof` (RFC 9449 §4.3), the RFC 7638 thumbprint that
//! a token's `cnf.jkt` names, replay detection ([`ReplayStore`]) and
//! stateless server nonces ([`NonceKey`], §9).

mod error;
pub(crate) mod nonce;
mod options;
mod proof;
#[cfg(feature = "redis")]
mod redis;
mod replay;
mod thumbprint;

#[cfg(all(test, feature = "testing"))]
mod tests;

use serde_json::{Map, Value};

// The request path uses these from phase 2 of issue #12 on.
#[allow(unused_imports)]
pub(crate) use error::{Check, DpopError};
pub use options::{DpopMode, DpopOptions, NonceKey};
#[allow(unused_imports)]
pub(crate) use proof::{CheckedProof, VerifiedProof, check_proof, verify_proof};
#[cfg(feature = "redis")]
pub use redis::RedisReplayStore;
pub use replay::{MemoryReplayStore, ReplayError, ReplayStore};
#[cfg(feature = "testing")]
pub(crate) use thumbprint::jwk_thumbprint;

/// How an access token is bound to a key (its `cnf` claim, RFC 7800).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binding<'a> {
    /// No `cnf`: a bearer token.
    Unbound,
    /// `cnf.jkt`: bound to the DPoP key with this thumbprint (RFC 9449 §6).
    Jkt(&'a str),
    /// A `cnf` this crate cannot check (mTLS `x5t#S256`, a malformed
    /// `jkt` …): the token must be refused.
    Unsupported,
}

/// The key binding of a token's claims (JWT payload or introspection
/// response, RFC 9449 §6.1 and §6.2).
pub(crate) fn binding(claims: &Map<String, Value>) -> Binding<'_> {
    match claims.get("cnf") {
        None => Binding::Unbound,
        Some(Value::Object(cnf)) => match cnf.get("jkt") {
            Some(Value::String(jkt)) if !jkt.is_empty() => Binding::Jkt(jkt),
            _ => Binding::Unsupported,
        },
        Some(_) => Binding::Unsupported,
    }
}

/// Whether a verified proof's key is the one `jkt` names.
pub(crate) fn proof_matches(jkt: &str, proof: &VerifiedProof) -> bool {
    crate::crypto::ct_eq(jkt.as_bytes(), proof.jkt.as_bytes())
}

#[cfg(test)]
mod binding_tests {
    use serde_json::json;

    use super::*;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn bindings() {
        assert_eq!(binding(&claims(json!({"sub": "x"}))), Binding::Unbound);
        let bound = claims(json!({"cnf": {"jkt": "abc"}}));
        assert_eq!(binding(&bound), Binding::Jkt("abc"));
        for cnf in [
            json!({"x5t#S256": "abc"}),
            json!({"jkt": 1}),
            json!({"jkt": ""}),
            json!("abc"),
            json!(null),
        ] {
            assert_eq!(
                binding(&claims(json!({ "cnf": cnf }))),
                Binding::Unsupported,
                "{cnf}"
            );
        }
        let proof = VerifiedProof {
            jkt: "abc".into(),
            jti: "j".into(),
            iat: 0,
        };
        assert!(proof_matches("abc", &proof) && !proof_matches("abd", &proof));
    }
}
