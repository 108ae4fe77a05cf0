//! Signing keys of the test issuer (RS256, PS256, ES256, EdDSA) and their
//! public JWKs.

use super::*;

pub(super) enum Signer {
    /// Shared by a new issuer's RS256 and PS256 keys (see `TestKey::pair`).
    Rsa(Arc<RsaKeyPair>),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

pub(super) struct TestKey {
    pub(super) kid: String,
    pub(super) alg: Algorithm,
    pub(super) signer: Signer,
    pub(super) jwk: Value,
    pub(super) published: AtomicBool,
}

pub(super) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(super) fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::RS256 => "RS256",
        Algorithm::PS256 => "PS256",
        Algorithm::ES256 => "ES256",
        Algorithm::EdDSA => "EdDSA",
        _ => "unsupported",
    }
}

/// A fresh 2048-bit RSA key pair (the slow part of starting an issuer).
pub(super) fn rsa_pair() -> Arc<RsaKeyPair> {
    Arc::new(RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation"))
}

impl TestKey {
    pub(super) fn generate(kid: String, alg: Algorithm) -> Self {
        let rsa = matches!(alg, Algorithm::RS256 | Algorithm::PS256).then(rsa_pair);
        Self::with_rsa(kid, alg, rsa)
    }

    /// A key for `alg`; RSA algorithms use `rsa` (generated when `None`).
    pub(super) fn with_rsa(kid: String, alg: Algorithm, rsa: Option<Arc<RsaKeyPair>>) -> Self {
        let (signer, mut jwk) = match alg {
            Algorithm::RS256 | Algorithm::PS256 => {
                let pair = rsa.unwrap_or_else(rsa_pair);
                let public = pair.public_key();
                let jwk = json!({
                    "kty": "RSA",
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                });
                (Signer::Rsa(pair), jwk)
            }
            Algorithm::ES256 => {
                let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                    .expect("EC key generation");
                let point = pair.public_key().as_ref().to_vec();
                let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65])});
                (Signer::Ecdsa(pair), jwk)
            }
            Algorithm::EdDSA => {
                let pair = Ed25519KeyPair::generate().expect("Ed25519 key generation");
                let jwk =
                    json!({"kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key().as_ref())});
                (Signer::Ed25519(pair), jwk)
            }
            other => panic!("TestIssuer supports RS256, PS256, ES256 and EdDSA, not {other:?}"),
        };
        let obj = jwk.as_object_mut().expect("object");
        obj.insert("kid".into(), kid.clone().into());
        obj.insert("use".into(), "sig".into());
        obj.insert("alg".into(), alg_name(alg).into());
        Self {
            kid,
            alg,
            signer,
            jwk,
            published: AtomicBool::new(true),
        }
    }

    /// The public JWK as published in `style`.
    pub(super) fn styled_jwk(&self, style: JwksStyle) -> Value {
        let mut jwk = self.jwk.clone();
        if let Some(obj) = jwk.as_object_mut() {
            if style != JwksStyle::Standard {
                obj.remove("alg");
            }
            if style == JwksStyle::WithoutAlgWithX5c {
                // Not a certificate: a DER SEQUENCE { UTF8String kid }.
                let kid = self.kid.as_bytes();
                let mut der = vec![0x30, (kid.len() + 2) as u8, 0x0c, kid.len() as u8];
                der.extend_from_slice(kid);
                let sha1 =
                    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &der);
                obj.insert(
                    "x5c".into(),
                    json!([base64::engine::general_purpose::STANDARD.encode(&der)]),
                );
                obj.insert("x5t".into(), b64(sha1).into());
            }
        }
        jwk
    }

    pub(super) fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.signer {
            Signer::Rsa(pair) => {
                let encoding: &'static dyn signature::RsaEncoding = match self.alg {
                    Algorithm::PS256 => &signature::RSA_PSS_SHA256,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(encoding, &rng, message, &mut sig)
                    .expect("RSA signing");
                sig
            }
            Signer::Ecdsa(pair) => pair
                .sign(&rng, message)
                .expect("ECDSA signing")
                .as_ref()
                .to_vec(),
            Signer::Ed25519(pair) => pair.sign(message).as_ref().to_vec(),
        }
    }
}
