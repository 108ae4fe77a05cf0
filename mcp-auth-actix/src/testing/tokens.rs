//! [`TokenBuilder`]: custom tokens, with any claim or header set or removed.

use super::*;

/// Builds a custom token: any claim or header member can be set or removed.
pub struct TokenBuilder<'a> {
    pub(super) issuer: &'a TestIssuer,
    pub(super) header: Map<String, Value>,
    pub(super) claims: Map<String, Value>,
    pub(super) alg: Algorithm,
    pub(super) kid: Option<String>,
}

impl TokenBuilder<'_> {
    /// Sets the `scope` claim (space-separated).
    pub fn scopes(self, scopes: &[&str]) -> Self {
        self.claim("scope", scopes.join(" "))
    }

    /// Sets a claim.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a claim.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets a header member (e.g. `typ`, `crit`, `jku`). Setting `alg` or
    /// `kid` here overrides what is sent without changing the signing key.
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a header member.
    pub fn without_header(mut self, name: &str) -> Self {
        self.header.remove(name);
        self
    }

    /// Binds the token to `key` (RFC 9449 §6.1: `cnf.jkt`, its RFC 7638
    /// thumbprint): a resource then needs a DPoP proof by that key.
    pub fn dpop_bound(self, key: &super::DpopKey) -> Self {
        self.claim("cnf", serde_json::json!({ "jkt": key.thumbprint() }))
    }

    /// Sets `exp` relative to now (negative: already expired).
    pub fn expires_in(self, secs: i64) -> Self {
        let exp = now_secs() as i64 + secs;
        self.claim("exp", exp)
    }

    /// Signs with the current key of `alg` (RS256 by default).
    pub fn algorithm(mut self, alg: Algorithm) -> Self {
        self.alg = alg;
        self
    }

    /// Signs with the key `kid` (which may be retired).
    pub fn key(mut self, kid: &str) -> Self {
        self.kid = Some(kid.to_owned());
        self
    }

    /// The signed compact JWT.
    pub fn sign(self) -> String {
        let key = {
            let keys = self.issuer.state.lock_keys();
            let found = match &self.kid {
                Some(kid) => keys.iter().find(|k| &k.kid == kid),
                None => keys
                    .iter()
                    .rev()
                    .find(|k| k.alg == self.alg && k.published.load(Ordering::Relaxed)),
            };
            found.cloned().expect("no such key in the TestIssuer")
        };
        let mut header = Map::new();
        header.insert("alg".into(), alg_name(key.alg).into());
        header.insert("kid".into(), key.kid.clone().into());
        header.extend(self.header);
        self.issuer.state.sign(&header, &self.claims, &key)
    }
}
