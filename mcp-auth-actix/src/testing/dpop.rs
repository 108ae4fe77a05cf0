//! [`DpopKey`]: the client side of DPoP (RFC 9449) for tests: a key pair,
//! its RFC 7638 thumbprint (for a token's `cnf.jkt`), and proofs, with any
//! header member or claim overridden for adversarial tests.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use super::*;

/// A DPoP client key (RS256, PS256, ES256 or EdDSA) that signs proofs.
///
/// ```no_run
/// # use jsonwebtoken::Algorithm;
/// use mcp_auth::testing::DpopKey;
/// let key = DpopKey::generate(Algorithm::ES256);
/// let jkt = key.thumbprint(); // the access token's `cnf.jkt`
/// let proof = key.proof("POST", "https://api.example/mcp", Some("the-access-token"));
/// ```
pub struct DpopKey {
    key: TestKey,
    /// The public JWK without `kid`, `use` and `alg`.
    public: Value,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey")
            .field("alg", &self.key.alg)
            .field("jwk", &self.public)
            .finish()
    }
}

impl DpopKey {
    /// A fresh key pair for `alg`.
    ///
    /// # Panics
    /// For algorithms other than RS256, PS256, ES256 and EdDSA.
    pub fn generate(alg: Algorithm) -> Self {
        let key = TestKey::generate(String::new(), alg);
        let mut public = key.jwk.clone();
        if let Some(members) = public.as_object_mut() {
            for member in ["kid", "use", "alg"] {
                members.remove(member);
            }
        }
        Self { key, public }
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.key.alg
    }

    /// The public JWK sent in the proofs' `jwk` header.
    pub fn public_jwk(&self) -> Value {
        self.public.clone()
    }

    /// The RFC 7638 SHA-256 thumbprint of the public key (base64url): the
    /// value of a bound access token's `cnf.jkt`.
    ///
    /// # Panics
    /// Without a crypto backend (`aws-lc-rs` or `rust-crypto`).
    pub fn thumbprint(&self) -> String {
        crate::dpop::jwk_thumbprint(&self.public).expect("DPoP key thumbprint")
    }

    /// A valid proof for `method` and `url`, with `ath` when an access
    /// token is given.
    pub fn proof(&self, method: &str, url: &str, access_token: Option<&str>) -> String {
        let builder = self.proof_builder(method, url);
        match access_token {
            Some(token) => builder.access_token(token).sign(),
            None => builder.sign(),
        }
    }

    /// A proof to customise before signing: header `typ`, `alg`, `jwk`;
    /// claims `jti` (random), `htm`, `htu`, `iat` (now).
    pub fn proof_builder(&self, method: &str, url: &str) -> DpopProofBuilder<'_> {
        let mut header = Map::new();
        header.insert("typ".into(), "dpop+jwt".into());
        header.insert("alg".into(), alg_name(self.key.alg).into());
        header.insert("jwk".into(), self.public.clone());
        let mut claims = Map::new();
        claims.insert("jti".into(), random_jti().into());
        claims.insert("htm".into(), method.into());
        claims.insert("htu".into(), url.into());
        claims.insert("iat".into(), now_secs().into());
        DpopProofBuilder {
            signer: self,
            header,
            claims,
        }
    }
}

/// Builds a custom proof: any header member or claim can be set or removed,
/// and it can be signed by another key than the one in its `jwk`.
pub struct DpopProofBuilder<'a> {
    signer: &'a DpopKey,
    header: Map<String, Value>,
    claims: Map<String, Value>,
}

impl std::fmt::Debug for DpopProofBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopProofBuilder")
            .field("header", &self.header)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

impl<'a> DpopProofBuilder<'a> {
    /// Sets `ath`, the hash of `token`.
    ///
    /// # Panics
    /// Without a crypto backend (`aws-lc-rs` or `rust-crypto`).
    pub fn access_token(self, token: &str) -> Self {
        let hash = crate::crypto::sha256(token.as_bytes()).expect("SHA-256 backend");
        self.claim("ath", b64(hash))
    }

    /// Sets the `nonce` claim.
    pub fn nonce(self, nonce: &str) -> Self {
        self.claim("nonce", nonce)
    }

    /// Sets `iat` relative to now (negative: in the past).
    pub fn issued_in(self, secs: i64) -> Self {
        let iat = now_secs() as i64 + secs;
        self.claim("iat", iat)
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

    /// Sets a header member (`typ`, `alg`, `jwk`, `crit` …). Setting `alg`
    /// changes what is sent, not how the proof is signed.
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a header member.
    pub fn without_header(mut self, name: &str) -> Self {
        self.header.remove(name);
        self
    }

    /// Signs with `other` while `jwk` still names this builder's key.
    pub fn signed_by(mut self, other: &'a DpopKey) -> Self {
        self.signer = other;
        self
    }

    /// The signed compact JWS.
    pub fn sign(self) -> String {
        let message = format!(
            "{}.{}",
            b64(serde_json::to_vec(&self.header).unwrap_or_default()),
            b64(serde_json::to_vec(&self.claims).unwrap_or_default())
        );
        let signature = b64(self.signer.key.sign(message.as_bytes()));
        format!("{message}.{signature}")
    }
}

/// 128 random bits, base64url (RFC 9449 §4.2 asks for at least 96).
fn random_jti() -> String {
    let mut bytes = [0u8; 16];
    if SystemRandom::new().fill(&mut bytes).is_err() {
        // Unique enough for tests even without randomness.
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        bytes[..8].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    }
    b64(bytes)
}
