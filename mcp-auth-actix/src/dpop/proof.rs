//! Checking a DPoP proof (RFC 9449 §4.3) at a protected resource.
//!
//! Cheap structural checks come first, then the signature with the proof's
//! own `jwk`, then the claims, then the server nonce, and the replay store
//! last, so that only proofs that passed every other check are recorded.
//!
//! The caller passes the access token's binding (`cnf.jkt`, see
//! [`super::binding`]) so that a proof by another key is refused *before*
//! it reaches the replay store: a stolen token used with the thief's own key
//! cannot fill the store. Not checked here (the caller's job): that the
//! request had exactly one `DPoP` header (§4.3 point 1).

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Map, Value};
use url::Url;

use super::{
    error::{Check, DpopError},
    nonce,
    options::{DpopOptions, asymmetric},
    thumbprint::ProofKey,
};
use crate::crypto;

/// Longest `jti` accepted (RFC 9449 §11.1: refuse needlessly large ones).
const MAX_JTI_BYTES: usize = 256;

/// What a valid proof established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VerifiedProof {
    /// RFC 7638 SHA-256 thumbprint of the proof key: compare it with the
    /// access token's `cnf.jkt`.
    pub(crate) jkt: String,
    /// The proof's `jti`.
    pub(crate) jti: String,
    /// The proof's `iat` (Unix seconds).
    pub(crate) iat: i64,
}

/// A proof that passed every check but the replay check.
#[derive(Debug)]
pub(crate) struct CheckedProof {
    pub(crate) proof: VerifiedProof,
    /// The key to record in the replay store (a digest of `jkt` and `jti`).
    pub(crate) replay_key: String,
    /// How long the proof would still be accepted.
    pub(crate) replay_ttl: Duration,
}

/// Verifies a DPoP proof for a request, including the replay check.
///
/// - `method`: the request method, as received (`htm` is compared
///   case-sensitively).
/// - `request_url`: the URL the client addressed (public scheme, host and
///   port, and the path as received); its query and fragment are ignored.
/// - `access_token`: the token presented with the proof; when present the
///   proof must carry its `ath`.
/// - `bound_jkt`: the token's `cnf.jkt`; when present the proof's key must
///   have this thumbprint (else [`DpopError::KeyBinding`]).
/// - `now`: the current time in Unix seconds.
pub(crate) async fn verify_proof(
    proof: &str,
    method: &str,
    request_url: &Url,
    access_token: Option<&str>,
    bound_jkt: Option<&str>,
    opts: &DpopOptions,
    now: u64,
) -> Result<VerifiedProof, DpopError> {
    let checked = check_proof(
        proof,
        method,
        request_url,
        access_token,
        bound_jkt,
        opts,
        now,
    )?;
    match opts
        .replay
        .check_and_store(&checked.replay_key, checked.replay_ttl)
        .await
    {
        Ok(true) => Ok(checked.proof),
        Ok(false) => Err(Check::Replayed.into()),
        Err(err) => {
            tracing::warn!(error = %err, "DPoP replay store unavailable; refusing the proof");
            Err(DpopError::Unavailable(err))
        }
    }
}

/// Every check of [`verify_proof`] but the replay store.
pub(crate) fn check_proof(
    proof: &str,
    method: &str,
    request_url: &Url,
    access_token: Option<&str>,
    bound_jkt: Option<&str>,
    opts: &DpopOptions,
    now: u64,
) -> Result<CheckedProof, DpopError> {
    // Fail closed without a backend: jsonwebtoken would panic without a
    // provider, and the hashes below would be unavailable.
    if !crypto::AVAILABLE || jsonwebtoken::crypto::CryptoProvider::try_get_default().is_none() {
        return Err(DpopError::NoBackend);
    }
    if proof.len() > opts.max_proof_bytes {
        return Err(Check::TooLarge.into());
    }
    let mut parts = proof.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Check::Malformed.into());
    };
    let header = decode_object(header_b64)?;

    // Header: `typ`, `alg`, `crit`, then the key. Other members are ignored.
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(Check::Type.into());
    }
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(asymmetric)
        .filter(|alg| opts.algorithms.contains(alg))
        .ok_or(Check::Algorithm)?;
    if header.contains_key("crit") {
        return Err(Check::Critical.into());
    }
    let Some(Value::Object(jwk)) = header.get("jwk") else {
        return Err(Check::Key.into());
    };
    let key = ProofKey::parse(jwk)?;
    let declared = jwk.get("alg");
    if !key.kind.fits(alg) || declared.is_some_and(|d| d.as_str().and_then(asymmetric) != Some(alg))
    {
        return Err(Check::Key.into());
    }

    // Signature, with the key the thumbprint names.
    let message = &proof[..header_b64.len() + 1 + payload_b64.len()];
    if !jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key.decoding, alg)
        .unwrap_or(false)
    {
        return Err(Check::Signature.into());
    }
    let claims = decode_object(payload_b64)?;

    let jti = match claims.get("jti") {
        Some(Value::String(jti)) if !jti.is_empty() && jti.len() <= MAX_JTI_BYTES => jti,
        _ => return Err(Check::Jti.into()),
    };
    if claims.get("htm").and_then(Value::as_str) != Some(method) {
        return Err(Check::Method.into());
    }
    match claims.get("htu").and_then(Value::as_str) {
        Some(htu) if same_target(htu, request_url) => {}
        _ => return Err(Check::Url.into()),
    }
    let window = i128::from(opts.iat_window_secs());
    let iat = claims
        .get("iat")
        .and_then(numeric_date)
        .filter(|iat| (i128::from(*iat) - i128::from(now)).abs() <= window)
        .ok_or(Check::IssuedAt)?;
    if let Some(token) = access_token {
        let expected = URL_SAFE_NO_PAD.encode(crypto::sha256(token.as_bytes())?);
        match claims.get("ath").and_then(Value::as_str) {
            Some(ath) if crypto::ct_eq(ath.as_bytes(), expected.as_bytes()) => {}
            _ => return Err(Check::AccessTokenHash.into()),
        }
    }
    let jkt = key.thumbprint()?;
    if bound_jkt.is_some_and(|bound| !crypto::ct_eq(bound.as_bytes(), jkt.as_bytes())) {
        return Err(DpopError::KeyBinding);
    }
    if let Some(nonce_key) = &opts.nonces {
        let valid = match claims.get("nonce").and_then(Value::as_str) {
            Some(nonce) => nonce::is_valid(nonce_key, nonce, now)?,
            None => false,
        };
        if !valid {
            return Err(DpopError::UseNonce {
                nonce: nonce::issue(nonce_key, now)?,
            });
        }
    }

    // `jkt` has a fixed length, so `jkt || jti` is unambiguous.
    let mut material = Vec::with_capacity(jkt.len() + jti.len());
    material.extend_from_slice(jkt.as_bytes());
    material.extend_from_slice(jti.as_bytes());
    let replay_key = URL_SAFE_NO_PAD.encode(crypto::sha256(&material)?);
    // Accepted until `iat + window` (inclusive): keep it one second more.
    let until = i128::from(iat) + window + 1;
    let ttl = u64::try_from(until - i128::from(now)).unwrap_or(1).max(1);
    Ok(CheckedProof {
        proof: VerifiedProof {
            jkt,
            jti: jti.clone(),
            iat,
        },
        replay_key,
        replay_ttl: Duration::from_secs(ttl),
    })
}

fn decode_object(segment: &str) -> Result<Map<String, Value>, Check> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| Check::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| Check::Malformed)
}

/// A JWT NumericDate: an integer, or a finite number in range (truncated).
fn numeric_date(value: &Value) -> Option<i64> {
    let number = value.as_number()?;
    if let Some(int) = number.as_i64() {
        return Some(int);
    }
    let float = number.as_f64()?;
    // Beyond ±2^53 a float is not a meaningful second anyway.
    (float.is_finite() && float.abs() < 9.0e15).then(|| float.trunc() as i64)
}

/// Whether a proof's `htu` names the request URL.
///
/// RFC 9449 §4.3 point 9: "The `htu` claim matches the HTTP URI value for
/// the HTTP request in which the JWT was received, ignoring any query and
/// fragment parts." The query and fragment are ignored on both sides: an
/// `htu` must not carry them (§4.2), but one that does still names the same
/// target, and the request's own query is not covered by the proof either,
/// so refusing it would add no protection. (The OpenID Foundation's FAPI 2
/// DPoP conformance tests expect a resource server to accept such a proof.)
///
/// Both URLs are compared after the normalisation §4.3 recommends
/// (RFC 3986 §6.2.2 and §6.2.3): scheme and host are case-insensitive (the
/// URL parser lowercases them), a default port equals no port, an empty
/// path is `/`, dot segments are resolved, and percent-encodings are
/// compared with unreserved characters decoded and hex digits uppercased.
/// The path is otherwise compared exactly (`/mcp` is not `/mcp/`). Only
/// `http` and `https` URLs without user information match.
pub(crate) fn same_target(htu: &str, request: &Url) -> bool {
    let Ok(htu) = Url::parse(htu) else {
        return false;
    };
    match (Target::of(&htu), Target::of(request)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[derive(PartialEq, Eq)]
struct Target<'a> {
    scheme: &'a str,
    host: &'a str,
    port: u16,
    path: String,
}

impl<'a> Target<'a> {
    fn of(url: &'a Url) -> Option<Self> {
        let scheme = url.scheme();
        if !matches!(scheme, "http" | "https")
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return None;
        }
        Some(Self {
            scheme,
            host: url.host_str()?,
            port: url.port_or_known_default()?,
            path: normalise_percent_encoding(url.path()),
        })
    }
}

/// RFC 3986 §6.2.2.1–2: uppercase the hex digits of percent-encodings and
/// decode those of unreserved characters.
fn normalise_percent_encoding(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(byte) if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) => {
                out.push(char::from(byte));
                i += 3;
            }
            Some(byte) => {
                out.push_str(&format!("%{byte:02X}"));
                i += 3;
            }
            None => {
                // Not a percent-encoding: copy the whole character.
                let Some(ch) = path.get(i..).and_then(|rest| rest.chars().next()) else {
                    break;
                };
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(url: &str) -> Url {
        Url::parse(url).unwrap()
    }

    #[test]
    fn htu_normalisation() {
        let req = request("https://api.example.com/mcp");
        let matches = [
            "https://api.example.com/mcp",
            "HTTPS://API.Example.COM/mcp",
            "https://api.example.com:443/mcp",
            "https://api.example.com/mcp?x=1",
            "https://api.example.com/mcp#frag",
            "https://api.example.com/./mcp",
            "https://api.example.com/%6Dcp",
            "https://api.example.com/%6dcp",
        ];
        for htu in matches {
            assert!(same_target(htu, &req), "{htu}");
        }
        let mismatches = [
            "http://api.example.com/mcp",
            "https://api.example.org/mcp",
            "https://api.example.com:8443/mcp",
            "https://api.example.com/mcp/",
            "https://api.example.com/MCP",
            "https://api.example.com/mcp/tools",
            "https://api.example.com/",
            "https://user@api.example.com/mcp",
            "https://user:pw@api.example.com/mcp",
            "ftp://api.example.com/mcp",
            "/mcp",
            "api.example.com/mcp",
            "",
            "https://api.example.com/mc%2Fp",
        ];
        for htu in mismatches {
            assert!(!same_target(htu, &req), "{htu}");
        }
        // The request's query and fragment are ignored too.
        assert!(same_target(
            "https://api.example.com/mcp",
            &request("https://api.example.com/mcp?session=1#x")
        ));
        // Reserved characters stay encoded but compare case-insensitively.
        assert!(same_target(
            "https://a.example/x%2fy",
            &request("https://a.example/x%2Fy")
        ));
        assert!(!same_target(
            "https://a.example/x%2Fy",
            &request("https://a.example/x/y")
        ));
        // Default port of http, empty path.
        assert!(same_target(
            "http://127.0.0.1:80",
            &request("http://127.0.0.1/")
        ));
    }

    #[test]
    fn percent_normalisation_never_panics() {
        for path in ["%", "%4", "%zz", "%é1", "é%41", "%%41", "/a%7e%7E%2f"] {
            let _ = normalise_percent_encoding(path);
        }
        assert_eq!(normalise_percent_encoding("/a%7e%2f%41"), "/a~%2FA");
    }

    /// Without exactly one jsonwebtoken backend (CI runs the unit tests
    /// with none and with both), every proof fails closed, typed.
    #[test]
    fn fails_closed_without_a_backend() {
        let usable =
            crypto::AVAILABLE && jsonwebtoken::crypto::CryptoProvider::try_get_default().is_some();
        let url = request("https://api.example.com/mcp");
        let opts = DpopOptions::default();
        for proof in ["", "a.b.c", "eyJ9.eyJ9.AA"] {
            let result = check_proof(proof, "POST", &url, Some("t"), None, &opts, 0);
            assert!(result.is_err());
            if !usable {
                assert_eq!(result.err(), Some(DpopError::NoBackend));
            }
        }
        if !usable {
            assert_eq!(DpopError::NoBackend.reason(), "backend");
            assert_eq!(DpopError::NoBackend.error_code(), None);
        }
    }

    #[test]
    fn numeric_dates() {
        use serde_json::json;
        assert_eq!(numeric_date(&json!(1_562_262_616)), Some(1_562_262_616));
        assert_eq!(numeric_date(&json!(1_562_262_616.9)), Some(1_562_262_616));
        assert_eq!(numeric_date(&json!(-5)), Some(-5));
        for bad in [
            json!("1562262616"),
            json!(1e300),
            json!(null),
            json!(u64::MAX),
        ] {
            assert_eq!(numeric_date(&bad), None, "{bad}");
        }
    }
}
