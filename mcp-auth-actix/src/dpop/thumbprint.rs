//! The public key of a DPoP proof (its `jwk` header) and its RFC 7638
//! SHA-256 thumbprint, the value an access token's `cnf.jkt` names.
//!
//! The key is read once into its canonical form: the members RFC 7638 hashes
//! (EC: `crv`, `kty`, `x`, `y`; RSA: `e`, `kty`, `n`; OKP: `crv`, `kty`, `x`)
//! in lexicographic order, without whitespace. The thumbprint hashes exactly
//! that string and the verification key is built from exactly those members,
//! so the key that verified the signature is the key the thumbprint names.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

use super::error::Check;
use crate::crypto::{self, NoBackend};

/// Members that only a private (or symmetric) JWK has (RFC 7518 §6).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Smallest RSA modulus accepted (RFC 7518 §3.3), as for the issuer's keys.
const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted: bigger keys only cost verification time.
const MAX_RSA_BITS: usize = 8192;

/// The kind of a proof key, which decides the algorithms it may verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl KeyKind {
    /// Whether a signature made with `alg` can come from a key of this kind.
    pub(crate) fn fits(self, alg: Algorithm) -> bool {
        use Algorithm::*;
        match self {
            Self::Rsa => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            Self::P256 => alg == ES256,
            Self::P384 => alg == ES384,
            Self::Ed25519 => alg == EdDSA,
        }
    }
}

/// A checked public JWK.
pub(crate) struct ProofKey {
    pub(crate) kind: KeyKind,
    /// The RFC 7638 canonical JSON of the key.
    pub(crate) canonical: String,
    pub(crate) decoding: DecodingKey,
}

impl ProofKey {
    /// Reads a JWK: a public EC (P-256, P-384), RSA (2048 to 8192 bits) or
    /// OKP (Ed25519) key. Private and symmetric keys are refused, and so is
    /// a member that is not base64url or has the wrong length.
    pub(crate) fn parse(jwk: &Map<String, Value>) -> Result<Self, Check> {
        if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
            return Err(Check::PrivateKey);
        }
        let member = |name: &str| jwk.get(name).and_then(Value::as_str);
        let b64 = |name: &str| -> Result<(&str, Vec<u8>), Check> {
            let text = member(name).ok_or(Check::Key)?;
            Ok((text, decode_b64url(text).ok_or(Check::Key)?))
        };
        match member("kty") {
            Some("EC") => {
                let (kind, len) = match member("crv") {
                    Some("P-256") => (KeyKind::P256, 32),
                    Some("P-384") => (KeyKind::P384, 48),
                    _ => return Err(Check::Key),
                };
                let (x, xb) = b64("x")?;
                let (y, yb) = b64("y")?;
                if xb.len() != len || yb.len() != len {
                    return Err(Check::Key);
                }
                let crv = if kind == KeyKind::P256 {
                    "P-256"
                } else {
                    "P-384"
                };
                let decoding = DecodingKey::from_ec_components(x, y).map_err(|_| Check::Key)?;
                Ok(Self {
                    kind,
                    canonical: format!(r#"{{"crv":"{crv}","kty":"EC","x":"{x}","y":"{y}"}}"#),
                    decoding,
                })
            }
            Some("RSA") => {
                let (n, nb) = b64("n")?;
                let (e, eb) = b64("e")?;
                let bits = significant_bits(&nb);
                if bits < MIN_RSA_BITS {
                    return Err(Check::WeakKey);
                }
                if bits > MAX_RSA_BITS || significant_bits(&eb) == 0 || eb.len() > 8 {
                    return Err(Check::Key);
                }
                Ok(Self {
                    kind: KeyKind::Rsa,
                    canonical: format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
                    decoding: DecodingKey::from_rsa_raw_components(&nb, &eb),
                })
            }
            Some("OKP") => {
                if member("crv") != Some("Ed25519") {
                    return Err(Check::Key);
                }
                let (x, xb) = b64("x")?;
                if xb.len() != 32 {
                    return Err(Check::Key);
                }
                let decoding = DecodingKey::from_ed_components(x).map_err(|_| Check::Key)?;
                Ok(Self {
                    kind: KeyKind::Ed25519,
                    canonical: format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
                    decoding,
                })
            }
            // `oct` (symmetric) and anything else.
            _ => Err(Check::Key),
        }
    }

    /// The RFC 7638 SHA-256 thumbprint, base64url without padding.
    pub(crate) fn thumbprint(&self) -> Result<String, NoBackend> {
        Ok(URL_SAFE_NO_PAD.encode(crypto::sha256(self.canonical.as_bytes())?))
    }
}

/// The RFC 7638 SHA-256 thumbprint of a public JWK, `None` when the JWK is
/// not an acceptable DPoP key (or no hashing backend is compiled in).
#[cfg(any(test, feature = "testing"))]
pub(crate) fn jwk_thumbprint(jwk: &Value) -> Option<String> {
    ProofKey::parse(jwk.as_object()?).ok()?.thumbprint().ok()
}

/// Strict base64url without padding: the alphabet only, so the canonical
/// JSON built from these strings needs no escaping.
fn decode_b64url(text: &str) -> Option<Vec<u8>> {
    if text.is_empty()
        || !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return None;
    }
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Bits of a big-endian unsigned integer, leading zeros ignored.
fn significant_bits(bytes: &[u8]) -> usize {
    match bytes.iter().position(|b| *b != 0) {
        Some(first) => (bytes.len() - first) * 8 - bytes[first].leading_zeros() as usize,
        None => 0,
    }
}

#[cfg(all(test, any(feature = "aws-lc-rs", feature = "rust-crypto")))]
mod tests {
    use serde_json::json;

    use super::*;

    /// RFC 7638 §3.1 (the RSA key of RFC 7517 Appendix A.1).
    const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    fn parse(jwk: Value) -> Result<ProofKey, Check> {
        ProofKey::parse(jwk.as_object().unwrap())
    }

    #[test]
    fn rfc7638_example_thumbprint() {
        let jwk =
            json!({"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"});
        assert_eq!(
            jwk_thumbprint(&jwk).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
        // Member order and optional members do not change it.
        let reordered = json!({"e": "AQAB", "use": "sig", "n": RFC7638_N, "kty": "RSA"});
        assert_eq!(jwk_thumbprint(&reordered), jwk_thumbprint(&jwk));
    }

    #[test]
    fn rfc9449_example_thumbprint() {
        // The proof key of RFC 9449 §4.2, whose thumbprint is the `cnf.jkt`
        // of the access token in §6.1 (Figure 9).
        let jwk = json!({"kty": "EC", "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
                         "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA", "crv": "P-256"});
        assert_eq!(
            jwk_thumbprint(&jwk).as_deref(),
            Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")
        );
    }

    #[test]
    fn refused_keys() {
        let x = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let x48 = URL_SAFE_NO_PAD.encode([7u8; 48]);
        let short_n = URL_SAFE_NO_PAD.encode([0xC0u8; 128]);
        let huge_n = URL_SAFE_NO_PAD.encode([0xC0u8; 1025]);
        let cases = [
            (json!({"kty": "oct", "k": "c2VjcmV0"}), Check::PrivateKey),
            (json!({"kty": "oct"}), Check::Key),
            (
                json!({"kty": "EC", "crv": "P-256", "x": x, "y": x, "d": x}),
                Check::PrivateKey,
            ),
            (
                json!({"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "p": "AQAB"}),
                Check::PrivateKey,
            ),
            (
                json!({"kty": "RSA", "n": short_n, "e": "AQAB"}),
                Check::WeakKey,
            ),
            (json!({"kty": "RSA", "n": huge_n, "e": "AQAB"}), Check::Key),
            (json!({"kty": "RSA", "n": RFC7638_N, "e": "AA"}), Check::Key),
            (
                json!({"kty": "EC", "crv": "P-256", "x": x, "y": x48}),
                Check::Key,
            ),
            (
                json!({"kty": "EC", "crv": "P-521", "x": x, "y": x}),
                Check::Key,
            ),
            (
                json!({"kty": "EC", "crv": "P-256", "x": format!("{x}="), "y": x}),
                Check::Key,
            ),
            (
                json!({"kty": "EC", "crv": "P-256", "x": "a\"b", "y": x}),
                Check::Key,
            ),
            (
                json!({"kty": "EC", "crv": "P-256", "x": 1, "y": x}),
                Check::Key,
            ),
            (json!({"kty": "OKP", "crv": "Ed448", "x": x}), Check::Key),
            (
                json!({"kty": "OKP", "crv": "Ed25519", "x": x48}),
                Check::Key,
            ),
            (json!({"kty": "RSA", "e": "AQAB"}), Check::Key),
            (json!({}), Check::Key),
        ];
        for (jwk, want) in cases {
            assert_eq!(parse(jwk.clone()).err(), Some(want), "{jwk}");
        }
        let ok = parse(json!({"kty": "OKP", "crv": "Ed25519", "x": x})).unwrap();
        assert_eq!(ok.kind, KeyKind::Ed25519);
        assert!(ok.kind.fits(Algorithm::EdDSA) && !ok.kind.fits(Algorithm::ES256));
    }
}
