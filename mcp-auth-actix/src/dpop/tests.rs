//! Proof verification against real signatures: valid proofs of every
//! default algorithm, the RFC 9449 examples, and an adversarial table.
//! (Feature `testing`: proofs come from [`crate::testing::DpopKey`].)

use std::time::Duration;

use aws_lc_rs::{
    rand::SystemRandom,
    signature::{self, EcdsaKeyPair, KeyPair},
};
use futures_util::FutureExt;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use url::Url;

use super::*;
use crate::{
    testing::{DpopKey, DpopProofBuilder},
    verify::now_secs,
};

const URL: &str = "https://api.example.com/mcp";
const TOKEN: &str = "the-access-token";

fn b64(bytes: impl AsRef<[u8]>) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    URL_SAFE_NO_PAD.encode(bytes)
}

fn verify_with(
    proof: &str,
    method: &str,
    url: &str,
    token: Option<&str>,
    opts: &DpopOptions,
) -> Result<VerifiedProof, DpopError> {
    let url = Url::parse(url).unwrap();
    verify_proof(proof, method, &url, token, None, opts, now_secs())
        .now_or_never()
        .expect("the memory store answers at once")
}

fn verify(proof: &str, opts: &DpopOptions) -> Result<VerifiedProof, DpopError> {
    verify_with(proof, "POST", URL, Some(TOKEN), opts)
}

/// A proof for `POST URL` with `ath` of `TOKEN`, to customise.
fn base(key: &DpopKey) -> DpopProofBuilder<'_> {
    key.proof_builder("POST", URL).access_token(TOKEN)
}

/// `header.payload.signature` from JSON values, with a given signature.
fn raw(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        b64(header.to_string()),
        b64(claims.to_string())
    )
}

fn claims_now() -> Value {
    json!({"jti": "j-1", "htm": "POST", "htu": URL, "iat": now_secs(),
           "ath": b64(crate::crypto::sha256(TOKEN.as_bytes()).unwrap())})
}

#[test]
fn valid_proofs_of_each_algorithm_are_accepted() {
    let opts = DpopOptions::default();
    for alg in [
        Algorithm::ES256,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::EdDSA,
    ] {
        let key = DpopKey::generate(alg);
        let proof = key.proof("POST", URL, Some(TOKEN));
        let verified = verify(&proof, &opts).unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(verified.jkt, key.thumbprint(), "{alg:?}");
        assert!(proof_matches(&key.thumbprint(), &verified));
        assert!(!verified.jti.is_empty());
        assert!((verified.iat - now_secs() as i64).abs() <= 1);
    }
}

/// ES384 is allowed by default; `DpopKey` has no P-384 key, so sign here.
#[test]
fn es384_proofs_are_accepted() {
    let pair = EcdsaKeyPair::generate(&signature::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
    let point = pair.public_key().as_ref();
    let jwk =
        json!({"kty": "EC", "crv": "P-384", "x": b64(&point[1..49]), "y": b64(&point[49..97])});
    let header = json!({"typ": "dpop+jwt", "alg": "ES384", "jwk": jwk});
    let message = format!(
        "{}.{}",
        b64(header.to_string()),
        b64(claims_now().to_string())
    );
    let sig = pair.sign(&SystemRandom::new(), message.as_bytes()).unwrap();
    let proof = format!("{message}.{}", b64(sig.as_ref()));
    let verified = verify(&proof, &DpopOptions::default()).unwrap();
    assert_eq!(Some(verified.jkt), jwk_thumbprint(&jwk));
    // Not allowed when the list says so.
    let es256_only = DpopOptions::default().algorithms([Algorithm::ES256]);
    assert_eq!(
        verify(&proof, &es256_only),
        Err(DpopError::Invalid(Check::Algorithm))
    );
}

/// RFC 9449's own examples (Figures 5 and 13), verified at their `iat`.
#[test]
fn rfc9449_example_proofs_verify() {
    const JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    let opts = DpopOptions::default();
    let check = |proof: &str, method: &str, url: &str, token: Option<&str>, now: u64| {
        let url = Url::parse(url).unwrap();
        check_proof(proof, method, &url, token, Some(JKT), &opts, now)
    };

    // Figure 13: a resource request with an access token.
    let resource_request = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA";
    let url = "https://resource.example.org/protectedresource";
    let token = Some("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU");
    let at = 1_562_262_618;
    let checked = check(resource_request, "GET", url, token, at).unwrap();
    assert_eq!(checked.proof.jkt, JKT);
    assert_eq!(checked.proof.jti, "e1j3V_bKic8-LAEB");
    assert_eq!(checked.proof.iat, at as i64);
    // Through the replay store: once.
    let parsed = Url::parse(url).unwrap();
    let verify = || {
        verify_proof(
            resource_request,
            "GET",
            &parsed,
            token,
            Some(JKT),
            &opts,
            at,
        )
        .now_or_never()
        .unwrap()
    };
    assert!(verify().is_ok());
    assert_eq!(verify(), Err(DpopError::Invalid(Check::Replayed)));
    // Another token, another method, hours later.
    let refused = [
        (
            check(resource_request, "GET", url, Some("other"), at),
            Check::AccessTokenHash,
        ),
        (
            check(resource_request, "POST", url, token, at),
            Check::Method,
        ),
        (
            check(resource_request, "GET", url, token, at + 7200),
            Check::IssuedAt,
        ),
    ];
    for (result, check) in refused {
        assert_eq!(result.err(), Some(DpopError::Invalid(check)));
    }

    // Figure 5: a token request, without an access token (so no `ath`).
    let token_request = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
    let url = "https://server.example.com/token";
    let at = 1_562_262_616;
    assert_eq!(
        check(token_request, "POST", url, None, at)
            .unwrap()
            .proof
            .jkt,
        JKT
    );
    assert_eq!(
        check(token_request, "POST", url, token, at).err(),
        Some(DpopError::Invalid(Check::AccessTokenHash))
    );
}

/// What a case must produce.
#[derive(Debug)]
enum Expect {
    Accepted,
    Refused(Check),
}

#[test]
fn adversarial_table() {
    use Expect::{Accepted, Refused};
    let es = DpopKey::generate(Algorithm::ES256);
    let rsa = DpopKey::generate(Algorithm::RS256);
    let ed = DpopKey::generate(Algorithm::EdDSA);
    let other = DpopKey::generate(Algorithm::ES256);
    let now = now_secs();
    let mut es_jwk = es.public_jwk();
    let weak_rsa = json!({"kty": "RSA", "e": "AQAB", "n": b64([0xC5u8; 128])});
    let hmac_header = json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": es_jwk});
    let hmac_message = format!(
        "{}.{}",
        b64(hmac_header.to_string()),
        b64(claims_now().to_string())
    );
    let hmac = b64(crate::crypto::hmac_sha256(b"secret", hmac_message.as_bytes()).unwrap());
    let valid = base(&es).sign();
    let (h, p, s) = {
        let mut parts = valid.split('.');
        (
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
        )
    };
    // The signature with its first character changed.
    let flipped = format!("{}{}", if s.starts_with('A') { "B" } else { "A" }, &s[1..]);
    let mut es384_jwk = es_jwk.clone();
    es384_jwk["alg"] = json!("ES384");
    es_jwk["d"] = json!(b64([1u8; 32]));

    // One line per case (kept unwrapped so the table reads as one).
    #[rustfmt::skip]
    let cases: Vec<(&str, String, Expect)> = vec![
        // Accepted shapes.
        // `now` is read once, before ~65 proofs are signed and checked: the
        // window's edges keep 10 s of margin so a loaded machine (CI
        // building in parallel) cannot move a case across them.
        ("valid ES256", base(&es).sign(), Accepted),
        ("valid RS256", base(&rsa).sign(), Accepted),
        ("valid EdDSA", base(&ed).sign(), Accepted),
        ("htu with query and fragment (ignored, RFC 9449 §4.3 point 9)", base(&es).claim("htu", format!("{URL}?a=1#f")).sign(), Accepted),
        ("htu scheme and host in upper case", base(&es).claim("htu", "HTTPS://API.EXAMPLE.COM/mcp").sign(), Accepted),
        ("htu with the default port", base(&es).claim("htu", "https://api.example.com:443/mcp").sign(), Accepted),
        ("iat near the edge of the window (past)", base(&es).claim("iat", now - 290).sign(), Accepted),
        ("iat near the edge of the window (future)", base(&es).claim("iat", now + 290).sign(), Accepted),
        ("unknown header members and claims ignored", base(&es).header("kid", "x").header("x5u", "https://evil.example/k").claim("extra", json!({"a": 1})).sign(), Accepted),
        ("jti of 256 bytes", base(&es).claim("jti", "j".repeat(256)).sign(), Accepted),
        // Method and URL.
        ("wrong htm", base(&es).claim("htm", "GET").sign(), Refused(Check::Method)),
        ("htm in lower case", base(&es).claim("htm", "post").sign(), Refused(Check::Method)),
        ("missing htm", base(&es).without_claim("htm").sign(), Refused(Check::Method)),
        ("htu with another host", base(&es).claim("htu", "https://evil.example.com/mcp").sign(), Refused(Check::Url)),
        ("htu with another scheme", base(&es).claim("htu", "http://api.example.com/mcp").sign(), Refused(Check::Url)),
        ("htu with another port", base(&es).claim("htu", "https://api.example.com:8443/mcp").sign(), Refused(Check::Url)),
        ("htu with another path", base(&es).claim("htu", "https://api.example.com/mcp/admin").sign(), Refused(Check::Url)),
        ("htu with a trailing slash", base(&es).claim("htu", format!("{URL}/")).sign(), Refused(Check::Url)),
        ("htu relative", base(&es).claim("htu", "/mcp").sign(), Refused(Check::Url)),
        ("htu not a string", base(&es).claim("htu", json!([URL])).sign(), Refused(Check::Url)),
        ("missing htu", base(&es).without_claim("htu").sign(), Refused(Check::Url)),
        // Time.
        ("stale iat", base(&es).claim("iat", now - 310).sign(), Refused(Check::IssuedAt)),
        ("future iat", base(&es).claim("iat", now + 310).sign(), Refused(Check::IssuedAt)),
        ("iat as a string", base(&es).claim("iat", now.to_string()).sign(), Refused(Check::IssuedAt)),
        ("missing iat", base(&es).without_claim("iat").sign(), Refused(Check::IssuedAt)),
        ("huge iat", base(&es).claim("iat", u64::MAX).sign(), Refused(Check::IssuedAt)),
        // Access token hash.
        ("wrong ath", base(&es).access_token("another-token").sign(), Refused(Check::AccessTokenHash)),
        ("missing ath with a token", es.proof_builder("POST", URL).sign(), Refused(Check::AccessTokenHash)),
        ("ath not a string", base(&es).claim("ath", 1).sign(), Refused(Check::AccessTokenHash)),
        // Algorithms.
        ("alg none", raw(&json!({"typ": "dpop+jwt", "alg": "none", "jwk": es.public_jwk()}), &claims_now(), ""), Refused(Check::Algorithm)),
        ("HS256 proof", format!("{hmac_message}.{hmac}"), Refused(Check::Algorithm)),
        ("missing alg", base(&es).without_header("alg").sign(), Refused(Check::Algorithm)),
        ("alg not allowed (PS384)", base(&rsa).header("alg", "PS384").sign(), Refused(Check::Algorithm)),
        ("alg of another key type", base(&es).header("alg", "RS256").sign(), Refused(Check::Key)),
        ("jwk alg differs from the header", base(&es).header("jwk", es384_jwk).sign(), Refused(Check::Key)),
        // Type.
        ("typ JWT", base(&es).header("typ", "JWT").sign(), Refused(Check::Type)),
        ("typ in another case", base(&es).header("typ", "DPoP+JWT").sign(), Refused(Check::Type)),
        ("typ with application/ prefix", base(&es).header("typ", "application/dpop+jwt").sign(), Refused(Check::Type)),
        ("missing typ", base(&es).without_header("typ").sign(), Refused(Check::Type)),
        // Keys.
        ("missing jwk", base(&es).without_header("jwk").sign(), Refused(Check::Key)),
        ("jwk not an object", base(&es).header("jwk", "key").sign(), Refused(Check::Key)),
        ("private key in jwk", base(&es).header("jwk", es_jwk.clone()).sign(), Refused(Check::PrivateKey)),
        ("kty oct with k", base(&es).header("jwk", json!({"kty": "oct", "k": "c2VjcmV0"})).sign(), Refused(Check::PrivateKey)),
        ("kty oct", base(&es).header("jwk", json!({"kty": "oct"})).sign(), Refused(Check::Key)),
        ("RSA 1024 proof key", base(&rsa).header("jwk", weak_rsa).sign(), Refused(Check::WeakKey)),
        ("unsupported curve", base(&ed).header("jwk", json!({"kty": "OKP", "crv": "Ed448", "x": b64([1u8; 57])})).sign(), Refused(Check::Key)),
        ("crit header", base(&es).header("crit", json!(["exp"])).sign(), Refused(Check::Critical)),
        // Signatures.
        ("bad signature", format!("{h}.{p}.{flipped}"), Refused(Check::Signature)),
        ("empty signature", format!("{h}.{p}."), Refused(Check::Signature)),
        ("signature not base64url", format!("{h}.{p}.!!!"), Refused(Check::Signature)),
        ("signed by another key than its jwk", base(&es).signed_by(&other).sign(), Refused(Check::Signature)),
        ("payload swapped under a valid signature", format!("{h}.{}.{s}", b64(claims_now().to_string())), Refused(Check::Signature)),
        // Structure.
        ("two parts", format!("{h}.{p}"), Refused(Check::Malformed)),
        ("four parts", format!("{h}.{p}.{s}.{s}"), Refused(Check::Malformed)),
        ("empty string", String::new(), Refused(Check::Malformed)),
        ("non-JSON header", format!("{}.{p}.{s}", b64("not json")), Refused(Check::Malformed)),
        ("header a JSON array", format!("{}.{p}.{s}", b64("[1]")), Refused(Check::Malformed)),
        ("header not base64url", format!("a+b/.{p}.{s}"), Refused(Check::Malformed)),
        ("header with padding", format!("{h}=.{p}.{s}"), Refused(Check::Malformed)),
        ("payload a JSON string (signed)", signed_raw("\"x\""), Refused(Check::Malformed)),
        ("oversize proof", base(&es).claim("pad", "x".repeat(9000)).sign(), Refused(Check::TooLarge)),
        // jti.
        ("missing jti", base(&es).without_claim("jti").sign(), Refused(Check::Jti)),
        ("empty jti", base(&es).claim("jti", "").sign(), Refused(Check::Jti)),
        ("jti too long", base(&es).claim("jti", "j".repeat(257)).sign(), Refused(Check::Jti)),
        ("jti a number", base(&es).claim("jti", 7).sign(), Refused(Check::Jti)),
    ];
    assert!(cases.len() >= 20);
    let mut failures = Vec::new();
    for (name, proof, expect) in &cases {
        // A fresh store per case: replay is tested on its own.
        let got = verify(proof, &DpopOptions::default());
        let ok = match (expect, &got) {
            (Accepted, Ok(_)) => true,
            (Refused(check), Err(DpopError::Invalid(got))) => check == got,
            _ => false,
        };
        if !ok {
            failures.push(format!("{name}: expected {expect:?}, got {got:?}"));
        }
        if let Err(err) = &got {
            assert_eq!(err.error_code(), Some("invalid_dpop_proof"), "{name}");
            assert!(!err.reason().is_empty() && !err.description().is_empty());
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A proof whose payload is `payload_json` (any JSON text), validly signed
/// by a fresh P-256 key named in its header.
fn signed_raw(payload_json: &str) -> String {
    let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let point = pair.public_key().as_ref();
    let jwk =
        json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..65])});
    let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk});
    let message = format!("{}.{}", b64(header.to_string()), b64(payload_json));
    let sig = pair.sign(&SystemRandom::new(), message.as_bytes()).unwrap();
    format!("{message}.{}", b64(sig.as_ref()))
}

#[test]
fn a_proof_is_accepted_once() {
    let opts = DpopOptions::default();
    let key = DpopKey::generate(Algorithm::ES256);
    let proof = key.proof("POST", URL, Some(TOKEN));
    assert!(verify(&proof, &opts).is_ok());
    assert_eq!(
        verify(&proof, &opts),
        Err(DpopError::Invalid(Check::Replayed))
    );
    // The same jti from another key is another proof.
    let jti = verify(&key.proof("POST", URL, Some(TOKEN)), &opts)
        .unwrap()
        .jti;
    let other = DpopKey::generate(Algorithm::ES256);
    let reused = base(&other).claim("jti", jti.clone()).sign();
    assert!(verify(&reused, &opts).is_ok());
    // And from the same key, even for another URL, it is a replay.
    let again = key
        .proof_builder("GET", "https://api.example.com/other")
        .access_token(TOKEN)
        .claim("jti", jti)
        .sign();
    let replay = verify_with(
        &again,
        "GET",
        "https://api.example.com/other",
        Some(TOKEN),
        &opts,
    );
    assert_eq!(replay, Err(DpopError::Invalid(Check::Replayed)));
    // Refused proofs are not recorded: a failed check leaves the jti free.
    let fresh = base(&key).claim("jti", "not-yet-used");
    let bad = base(&key)
        .claim("jti", "not-yet-used")
        .claim("htm", "GET")
        .sign();
    assert!(verify(&bad, &opts).is_err());
    assert!(verify(&fresh.sign(), &opts).is_ok());
}

#[test]
fn replay_ttl_covers_the_acceptance_window() {
    let opts = DpopOptions::default();
    let key = DpopKey::generate(Algorithm::ES256);
    let url = Url::parse(URL).unwrap();
    let now = now_secs();
    for (offset, ttl) in [(0i64, 301u64), (-300, 1), (300, 601), (-100, 201)] {
        let proof = base(&key).claim("iat", now as i64 + offset).sign();
        let checked = check_proof(&proof, "POST", &url, Some(TOKEN), None, &opts, now).unwrap();
        assert_eq!(checked.replay_ttl, Duration::from_secs(ttl), "{offset}");
        assert_eq!(checked.replay_key.len(), 43, "a SHA-256 digest, base64url");
        assert!(!checked.replay_key.contains(&checked.proof.jti));
    }
}

struct FailingStore;

impl ReplayStore for FailingStore {
    fn check_and_store(
        &self,
        _: &str,
        _: Duration,
    ) -> futures_util::future::LocalBoxFuture<'_, Result<bool, ReplayError>> {
        Box::pin(futures_util::future::ready(Err(ReplayError::new("down"))))
    }
}

#[test]
fn a_failing_replay_store_fails_closed() {
    let opts = DpopOptions::default().replay_store(FailingStore);
    let key = DpopKey::generate(Algorithm::ES256);
    let err = verify(&key.proof("POST", URL, Some(TOKEN)), &opts).unwrap_err();
    assert_eq!(err, DpopError::Unavailable(ReplayError::new("down")));
    assert_eq!(err.error_code(), None);
    assert_eq!(err.reason(), "replay_store");
    // A shared store through `Arc` works as well.
    let shared = std::sync::Arc::new(MemoryReplayStore::default());
    let opts = DpopOptions::default().replay_store(shared.clone());
    assert!(verify(&key.proof("POST", URL, Some(TOKEN)), &opts).is_ok());
    assert_eq!(shared.len(), 1);
}

#[test]
fn server_nonces() {
    let secret = [7u8; 32];
    let opts = DpopOptions::default().nonces(NonceKey::new(secret));
    let key = DpopKey::generate(Algorithm::ES256);
    let now = now_secs();

    // Missing: `use_dpop_nonce` with a fresh nonce.
    let err = verify(&base(&key).sign(), &opts).unwrap_err();
    assert_eq!(err.error_code(), Some("use_dpop_nonce"));
    assert_eq!(err.reason(), "nonce");
    let nonce = err.nonce().expect("a fresh nonce").to_owned();
    assert_eq!(Some(nonce.clone()), opts.current_nonce(now).unwrap());

    // With it: accepted.
    assert!(verify(&base(&key).nonce(&nonce).sign(), &opts).is_ok());
    // A replica with the same secret accepts it too.
    let replica = DpopOptions::default().nonces(NonceKey::new(secret));
    assert!(verify(&base(&key).nonce(&nonce).sign(), &replica).is_ok());

    // Stale (ten minutes old), forged (another secret), junk, not a string.
    let stale = super::nonce::issue(&NonceKey::new(secret), now - 600).unwrap();
    let forged = super::nonce::issue(&NonceKey::new([8u8; 32]), now).unwrap();
    for (name, proof) in [
        ("stale", base(&key).nonce(&stale).sign()),
        ("forged", base(&key).nonce(&forged).sign()),
        ("junk", base(&key).nonce("eyJ7S_zG.eyJH0-Z.HX4w-7v").sign()),
        ("number", base(&key).claim("nonce", 1).sign()),
    ] {
        let err = verify(&proof, &opts).unwrap_err();
        assert!(matches!(err, DpopError::UseNonce { .. }), "{name}: {err:?}");
        assert_eq!(err.nonce(), Some(nonce.as_str()), "{name}");
    }
    // An otherwise invalid proof is refused as such, not asked for a nonce.
    let err = verify(&base(&key).claim("htm", "GET").sign(), &opts).unwrap_err();
    assert_eq!(err, DpopError::Invalid(Check::Method));
    // Without nonces configured, a nonce claim is ignored.
    assert!(
        verify(
            &base(&key).nonce("anything").sign(),
            &DpopOptions::default()
        )
        .is_ok()
    );
}

#[test]
fn without_an_access_token_no_ath_is_needed() {
    let key = DpopKey::generate(Algorithm::EdDSA);
    let proof = key.proof("GET", URL, None);
    assert!(verify_with(&proof, "GET", URL, None, &DpopOptions::default()).is_ok());
}

/// Mutations of a valid proof (truncations, byte flips, inserted
/// separators) are refused, never accepted, and never panic.
#[test]
fn mutated_proofs_never_pass_or_panic() {
    let key = DpopKey::generate(Algorithm::ES256);
    let proof = key.proof("POST", URL, Some(TOKEN));
    let url = Url::parse(URL).unwrap();
    let opts = DpopOptions::default();
    let check = |candidate: &str| {
        check_proof(
            candidate,
            "POST",
            &url,
            Some(TOKEN),
            None,
            &opts,
            now_secs(),
        )
    };
    assert!(check(&proof).is_ok());
    let bytes = proof.as_bytes();
    let mut tried = 0;
    for i in 0..bytes.len() {
        for replacement in [b'A', b'-', b'.', b'=', b'\0'] {
            if bytes[i] == replacement {
                continue;
            }
            let mut mutated = bytes.to_vec();
            mutated[i] = replacement;
            let candidate = String::from_utf8_lossy(&mutated);
            assert!(check(&candidate).is_err(), "byte {i} -> {replacement}");
            tried += 1;
        }
    }
    for len in 0..bytes.len() {
        assert!(check(&proof[..len]).is_err(), "truncated to {len}");
    }
    assert!(tried > 1000);
}

/// A token bound to one key, presented with a valid proof by another key
/// (a stolen token): refused as `invalid_token`, before the replay store.
#[test]
fn the_proof_key_must_be_the_bound_key() {
    let store = std::sync::Arc::new(MemoryReplayStore::default());
    let opts = DpopOptions::default().replay_store(store.clone());
    let owner = DpopKey::generate(Algorithm::ES256);
    let thief = DpopKey::generate(Algorithm::ES256);
    let url = Url::parse(URL).unwrap();
    let run = |proof: &str, bound: &str| {
        verify_proof(
            proof,
            "POST",
            &url,
            Some(TOKEN),
            Some(bound),
            &opts,
            now_secs(),
        )
        .now_or_never()
        .unwrap()
    };
    let stolen = thief.proof("POST", URL, Some(TOKEN));
    let err = run(&stolen, &owner.thumbprint()).unwrap_err();
    assert_eq!(err, DpopError::KeyBinding);
    assert_eq!(err.error_code(), Some("invalid_token"));
    assert_eq!(err.reason(), "binding");
    assert!(store.is_empty(), "refused before the replay store");
    let verified = run(&owner.proof("POST", URL, Some(TOKEN)), &owner.thumbprint()).unwrap();
    assert_eq!(verified.jkt, owner.thumbprint());
    assert_eq!(store.len(), 1);
}
