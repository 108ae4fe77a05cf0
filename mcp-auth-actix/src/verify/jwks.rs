//! The JWKS cache of one authorization server.
//!
//! Reads are lock-free (`ArcSwap` snapshot): a token whose `kid` is known
//! never waits on the network, even while a refresh runs. Keys are parsed
//! into `DecodingKey`s once per fetch. An unknown `kid` triggers one shared
//! refresh (single-flight), rate-limited by a small token bucket and a
//! per-`kid` negative cache, so a rotated key is accepted on its first
//! request while a flood of random `kid`s costs at most a handful of fetches.
//! A failed fetch keeps the last good keys.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use arc_swap::ArcSwap;
use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse},
};
use serde_json::Value;
use url::Url;

use super::{KeyRefreshPolicy, deadline};
use crate::{
    error::{AuthError, FetchError, Reason},
    flight::Flight,
    http::{self, HttpOptions},
    metrics::{self, FetchKind, Stopwatch},
};

/// A parsed verification key.
pub(crate) struct Key {
    pub(crate) decoding: DecodingKey,
    /// Set when a refresh no longer lists this key; cached tokens it signed
    /// die with it (an O(1) check on the cache-hit path).
    retired: AtomicBool,
    /// Algorithms this key may verify (from its `alg`, or its `kty`/`crv`).
    algorithms: Vec<Algorithm>,
    /// The JWK as received, to keep identity across refreshes.
    raw: String,
}

impl Key {
    pub(crate) fn allows(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(&alg)
    }

    /// Whether the issuer still publishes this key.
    pub(crate) fn is_published(&self) -> bool {
        !self.retired.load(Ordering::Acquire)
    }
}

#[derive(Default)]
struct KeySet {
    /// Keys per `kid`: RFC 7517 §4.5 lets keys of different types share one.
    by_kid: HashMap<String, Vec<Arc<Key>>>,
    unnamed: Vec<Arc<Key>>,
    /// `None` until the first successful fetch.
    fresh_until: Option<Instant>,
}

struct RefreshState {
    tokens: f64,
    refilled: Instant,
    negative: HashMap<String, Instant>,
    last_error: Option<FetchError>,
    /// After a failed fetch, no first-use or background fetch before this.
    retry_after: Option<Instant>,
}

/// Back-off after a failed JWKS fetch, so a dead endpoint is not hammered
/// by every request (unknown `kid`s are limited by the token bucket anyway).
const FAILED_FETCH_BACKOFF: Duration = Duration::from_secs(2);

pub(crate) struct KeyStore {
    /// The issuer publishing these keys (for logs and metrics).
    issuer: String,
    url: Url,
    http: HttpOptions,
    policy: KeyRefreshPolicy,
    current: ArcSwap<KeySet>,
    flight: Flight,
    state: Mutex<RefreshState>,
}

/// Outcome of a key lookup.
pub(crate) enum Lookup {
    /// Candidate keys for the token (one when the `kid` matched).
    Keys(Vec<Arc<Key>>),
    /// No key can verify this token.
    NoKey,
}

const MAX_NEGATIVE: usize = 1024;

impl KeyStore {
    pub(crate) fn new(
        issuer: &str,
        url: Url,
        http: HttpOptions,
        policy: KeyRefreshPolicy,
    ) -> Arc<Self> {
        Arc::new(Self {
            issuer: issuer.to_owned(),
            flight: Flight::new(http.timeout + crate::auth_server::FLIGHT_SLACK),
            url,
            http,
            state: Mutex::new(RefreshState {
                tokens: f64::from(policy.unknown_kid_burst),
                refilled: Instant::now(),
                negative: HashMap::new(),
                last_error: None,
                retry_after: None,
            }),
            policy,
            current: ArcSwap::from_pointee(KeySet::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RefreshState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keys that may verify a token with header `kid`/`alg`.
    pub(crate) async fn lookup(
        self: &Arc<Self>,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Lookup, AuthError> {
        let mut set = self.current.load_full();
        match set.fresh_until {
            None => {
                if self.backing_off() {
                    return Err(self.unavailable());
                }
                self.refresh_and_wait().await;
                set = self.current.load_full();
                if set.fresh_until.is_none() {
                    return Err(self.unavailable());
                }
            }
            Some(fresh_until) if fresh_until <= Instant::now() && !self.backing_off() => {
                // Stale: serve from the current keys, refresh in the background.
                let this = self.clone();
                self.flight.start(move || async move { this.fetch().await });
            }
            Some(_) => {}
        }
        let Some(kid) = kid else {
            return Ok(pick(set.all_keys(), alg));
        };
        if let Some(keys) = set.by_kid.get(kid) {
            return Ok(pick(keys.iter(), alg));
        }
        // A refresh already under way started before this need: join it
        // without spending a token, but its answer may predate the key, so
        // its "absent" is not final: then fetch again (spending a token).
        // Only a fetch that started after the need may plant a negative entry.
        let mut joined = self.flight.is_running();
        if !joined && !self.may_refresh_for(kid) {
            return Ok(Lookup::NoKey);
        }
        loop {
            self.refresh_and_wait().await;
            if !joined || self.current.load().by_kid.contains_key(kid) {
                break;
            }
            if !self.may_refresh_for(kid) {
                break;
            }
            joined = false;
        }
        let set = self.current.load();
        if let Some(keys) = set.by_kid.get(kid) {
            return Ok(pick(keys.iter(), alg));
        }
        let mut state = self.lock();
        if state.last_error.is_some() {
            drop(state);
            return Err(self.unavailable());
        }
        if !joined {
            if state.negative.len() >= MAX_NEGATIVE {
                let now = Instant::now();
                state.negative.retain(|_, until| *until > now);
            }
            if state.negative.len() < MAX_NEGATIVE {
                state
                    .negative
                    .insert(kid.to_owned(), deadline(self.policy.negative_ttl));
            }
        }
        Ok(Lookup::NoKey)
    }

    fn unavailable(&self) -> AuthError {
        let cause = self
            .lock()
            .last_error
            .as_ref()
            .map_or_else(|| "JWKS fetch timed out".to_owned(), ToString::to_string);
        AuthError::unavailable(Reason::Jwks, cause)
    }

    /// Whether a recent fetch failed and the back-off has not elapsed.
    fn backing_off(&self) -> bool {
        self.lock()
            .retry_after
            .is_some_and(|at| Instant::now() < at)
    }

    /// Token bucket + negative cache for unknown `kid`s.
    fn may_refresh_for(&self, kid: &str) -> bool {
        let now = Instant::now();
        let mut state = self.lock();
        if state.negative.get(kid).is_some_and(|until| *until > now) {
            return false;
        }
        let refill = self.policy.unknown_kid_refill.as_secs_f64().max(1e-3);
        let gained = now.duration_since(state.refilled).as_secs_f64() / refill;
        state.tokens = (state.tokens + gained).min(f64::from(self.policy.unknown_kid_burst));
        state.refilled = now;
        if state.tokens >= 1.0 {
            state.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    async fn refresh_and_wait(self: &Arc<Self>) {
        let this = self.clone();
        // A fetch is bounded by the HTTP timeout; allow a little more.
        let wait = self.http.timeout.saturating_add(Duration::from_millis(500));
        self.flight
            .run(move || async move { this.fetch().await }, wait)
            .await;
    }

    async fn fetch(&self) {
        let started = Stopwatch::start();
        let result = http::get_json(&self.url, &self.http).await;
        let outcome = result.and_then(|res| {
            let old = self.current.load_full();
            let set = parse_key_set(&self.url, res.body.get("keys"), &old)?;
            Ok((set, res.max_age))
        });
        metrics::fetched(FetchKind::Jwks, started, outcome.as_ref().err());
        match outcome {
            Ok((mut set, max_age)) => {
                // `build` checked min <= max; max() then min() cannot panic anyway.
                let ttl = max_age
                    .unwrap_or(self.policy.default_max_age)
                    .max(self.policy.min_max_age)
                    .min(self.policy.max_max_age);
                set.fresh_until = Some(deadline(ttl));
                let old = self.current.swap(Arc::new(set));
                let new = self.current.load();
                let kept =
                    |key: &Arc<Key>, set: &KeySet| set.all_keys().any(|k| Arc::ptr_eq(k, key));
                let mut changed = new.all_keys().any(|key| !kept(key, &old));
                for key in old.all_keys().filter(|key| !kept(key, &new)) {
                    key.retired.store(true, Ordering::Release);
                    changed = true;
                }
                // The first fetch fills an empty set: not a rotation.
                if changed && old.fresh_until.is_some() {
                    tracing::info!(issuer = %self.issuer, jwks_uri = %self.url, "the issuer's key set changed");
                    metrics::keys_rotated(&self.issuer);
                }
                let mut state = self.lock();
                state.last_error = None;
                state.retry_after = None;
                state.negative.clear();
            }
            Err(err) => {
                tracing::warn!(jwks_uri = %self.url, error = %err, "JWKS fetch failed; keeping the last good keys");
                let mut state = self.lock();
                state.last_error = Some(err);
                state.retry_after = Some(deadline(FAILED_FETCH_BACKOFF));
            }
        }
    }
}

/// Parses a JWK Set document the way a fetch does (fuzzing entry point).
#[cfg(feature = "fuzzing")]
pub(crate) fn parse_jwks(body: &[u8]) -> usize {
    let url = Url::parse("https://as.example/jwks").unwrap_or_else(|_| unreachable!());
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return 0;
    };
    parse_key_set(&url, value.get("keys"), &KeySet::default())
        .map_or(0, |set| set.by_kid.len() + set.unnamed.len())
}

impl KeySet {
    fn all_keys(&self) -> impl Iterator<Item = &Arc<Key>> {
        self.by_kid.values().flatten().chain(self.unnamed.iter())
    }
}

/// The keys whose type fits `alg`.
fn pick<'a>(keys: impl Iterator<Item = &'a Arc<Key>>, alg: Algorithm) -> Lookup {
    let keys: Vec<_> = keys.filter(|k| k.allows(alg)).cloned().collect();
    if keys.is_empty() {
        Lookup::NoKey
    } else {
        Lookup::Keys(keys)
    }
}

/// Parses every usable signing key; bad keys are skipped with a warning.
/// Keys identical to ones already held keep their `Arc` (and so their
/// cached tokens).
fn parse_key_set(url: &Url, keys: Option<&Value>, old: &KeySet) -> Result<KeySet, FetchError> {
    let Some(Value::Array(keys)) = keys else {
        return Err(FetchError::Schema {
            url: url.to_string(),
            reason: "a JWK Set needs a `keys` array".into(),
        });
    };
    let mut set = KeySet::default();
    let reuse = |raw: &str| old.all_keys().find(|k| k.raw == raw).cloned();
    for value in keys {
        let raw = value.to_string();
        let key = match reuse(&raw) {
            Some(key) => key,
            None => match parse_key(value) {
                Ok(key) => Arc::new(Key { raw, ..key }),
                Err(reason) => {
                    let kid = value.get("kid").and_then(Value::as_str).unwrap_or("<none>");
                    tracing::warn!(jwks_uri = %url, kid, reason, "skipping JWK");
                    continue;
                }
            },
        };
        match value.get("kid").and_then(Value::as_str) {
            Some(kid) => set.by_kid.entry(kid.to_owned()).or_default().push(key),
            None => set.unnamed.push(key),
        }
    }
    if set.by_kid.is_empty() && set.unnamed.is_empty() && !keys.is_empty() {
        return Err(FetchError::Schema {
            url: url.to_string(),
            reason: "no usable signing key in the JWK Set".into(),
        });
    }
    Ok(set)
}

/// Members that only a private (or symmetric) JWK has (RFC 7518 §6).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Smallest RSA modulus accepted, whatever the crypto backend (RFC 7518 §3.3).
const MIN_RSA_BITS: usize = 2048;

fn parse_key(value: &Value) -> Result<Key, &'static str> {
    if PRIVATE_MEMBERS.iter().any(|m| value.get(m).is_some()) {
        return Err("a private or symmetric key was published; refusing to use it");
    }
    match value.get("key_ops") {
        None => {}
        Some(Value::Array(ops)) if ops.iter().any(|op| op == "verify") => {}
        Some(_) => return Err("`key_ops` does not include `verify`"),
    }
    let jwk: Jwk =
        serde_json::from_value(value.clone()).map_err(|_| "malformed or unsupported JWK")?;
    match &jwk.common.public_key_use {
        None | Some(PublicKeyUse::Signature) => {}
        Some(_) => return Err("`use` is not `sig`"),
    }
    if let AlgorithmParameters::RSA(rsa) = &jwk.algorithm
        && rsa_modulus_bits(&rsa.n) < MIN_RSA_BITS
    {
        return Err("RSA modulus shorter than 2048 bits");
    }
    let family: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => &[
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => &[Algorithm::ES256],
            EllipticCurve::P384 => &[Algorithm::ES384],
            _ => return Err("unsupported EC curve"),
        },
        AlgorithmParameters::OctetKeyPair(p) => match p.curve {
            EllipticCurve::Ed25519 => &[Algorithm::EdDSA],
            _ => return Err("unsupported OKP curve"),
        },
        // Symmetric keys never verify tokens from a JWKS.
        AlgorithmParameters::OctetKey(_) => return Err("symmetric key"),
        _ => return Err("unsupported key type"),
    };
    let algorithms = match &jwk.common.key_algorithm {
        None => family.to_vec(),
        Some(declared) => {
            let alg = signing_algorithm(declared).ok_or("`alg` is not a signature algorithm")?;
            if !family.contains(&alg) {
                return Err("`alg` does not match the key type");
            }
            vec![alg]
        }
    };
    let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| "key material is invalid")?;
    Ok(Key {
        decoding,
        algorithms,
        retired: AtomicBool::new(false),
        raw: String::new(),
    })
}

/// Bits of a base64url big-endian modulus (0 when it does not decode).
fn rsa_modulus_bits(n: &str) -> usize {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(n.trim_end_matches('=')) else {
        return 0;
    };
    match bytes.iter().position(|b| *b != 0) {
        Some(first) => (bytes.len() - first) * 8 - bytes[first].leading_zeros() as usize,
        None => 0,
    }
}

fn signing_algorithm(alg: &KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    // RFC 7517 Appendix A.1 public keys.
    fn ec() -> Value {
        json!({"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
               "y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","use":"sig","kid":"ec1"})
    }
    fn rsa(extra: Value) -> Value {
        let mut v = json!({"kty":"RSA","kid":"rsa1","e":"AQAB",
            "n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v
    }

    #[test]
    fn key_algorithms_follow_kty_alg_and_use() {
        let key = parse_key(&ec()).unwrap();
        assert!(key.allows(Algorithm::ES256) && !key.allows(Algorithm::ES384));
        let key = parse_key(&rsa(json!({}))).unwrap();
        assert!(key.allows(Algorithm::RS256) && key.allows(Algorithm::PS256));
        assert!(!key.allows(Algorithm::ES256));
        let key = parse_key(&rsa(json!({"alg": "RS256"}))).unwrap();
        assert!(key.allows(Algorithm::RS256) && !key.allows(Algorithm::PS256));
        assert!(parse_key(&rsa(json!({"alg": "ES256"}))).is_err());
        assert!(parse_key(&rsa(json!({"use": "enc"}))).is_err());
        assert!(parse_key(&rsa(json!({"alg": "RSA-OAEP"}))).is_err());
        assert!(parse_key(&json!({"kty":"oct","k":"c2VjcmV0"})).is_err());
        assert!(parse_key(&json!({"kty":"RSA","n":"!!","e":"AQAB"})).is_err());
    }

    #[test]
    fn bad_keys_are_skipped_not_fatal() {
        let url = Url::parse("https://as.example/jwks").unwrap();
        let keys = json!([ec(), {"kty":"nope"}, rsa(json!({"use":"enc", "kid":"x"}))]);
        let set = parse_key_set(&url, Some(&keys), &KeySet::default()).unwrap();
        assert_eq!(set.by_kid.len(), 1);
        assert!(parse_key_set(&url, Some(&json!([{"kty":"nope"}])), &KeySet::default()).is_err());
        assert!(parse_key_set(&url, None, &KeySet::default()).is_err());
        // Identical keys keep their identity across refreshes.
        let again = parse_key_set(&url, Some(&keys), &set).unwrap();
        assert!(Arc::ptr_eq(&set.by_kid["ec1"][0], &again.by_kid["ec1"][0]));
    }

    #[test]
    fn keys_sharing_a_kid_are_all_kept_and_picked_by_alg() {
        let url = Url::parse("https://as.example/jwks").unwrap();
        let mut ec = ec();
        ec["kid"] = json!("shared");
        let keys = json!([rsa(json!({"kid": "shared"})), ec]);
        let set = parse_key_set(&url, Some(&keys), &KeySet::default()).unwrap();
        assert_eq!(set.by_kid["shared"].len(), 2);
        for alg in [Algorithm::RS256, Algorithm::ES256] {
            match pick(set.by_kid["shared"].iter(), alg) {
                Lookup::Keys(keys) => assert!(keys.len() == 1 && keys[0].allows(alg)),
                Lookup::NoKey => panic!("no key for {alg:?}"),
            }
        }
        assert!(matches!(
            pick(set.by_kid["shared"].iter(), Algorithm::EdDSA),
            Lookup::NoKey
        ));
    }

    #[test]
    fn weak_private_and_non_verify_keys_are_skipped() {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        let short_n = URL_SAFE_NO_PAD.encode([0xC0u8; 128]); // 1024 bits
        assert_eq!(rsa_modulus_bits(&short_n), 1024);
        assert_eq!(
            rsa_modulus_bits(rsa(json!({}))["n"].as_str().unwrap()),
            2048
        );
        let cases = [
            (rsa(json!({"n": short_n})), "2048"),
            (rsa(json!({"d": "AQAB"})), "private"),
            (rsa(json!({"p": "AQAB", "q": "AQAB"})), "private"),
            (rsa(json!({"key_ops": ["encrypt"]})), "key_ops"),
            (rsa(json!({"key_ops": "verify"})), "key_ops"),
        ];
        for (jwk, needle) in cases {
            let err = parse_key(&jwk)
                .err()
                .unwrap_or_else(|| panic!("{jwk} accepted"));
            assert!(err.contains(needle), "{err}");
        }
        assert!(parse_key(&rsa(json!({"key_ops": ["verify"]}))).is_ok());
    }
}
