//! The `metrics` feature end to end: a real authorization server
//! (`TestIssuer`), an Actix service behind `BearerAuth`, and a recorder
//! local to the test's thread (an actix test runs on one thread, and so do
//! the guard, its key fetches and the tasks they spawn).
//!
//! Checks that each decision is counted with the right `outcome` and
//! `reason`, that fetches and key rotations are recorded, and that a
//! thousand hostile tokens leave only a few, fixed label values, none of
//! them taken from a token.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use actix_web::{
    App, HttpResponse,
    body::MessageBody,
    dev::{Service, ServiceResponse},
    http::header,
    test::{self, TestRequest},
    web,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::Algorithm;
use mcp_auth::{McpAuth, ResourceConfig, testing::TestIssuer};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use serde_json::json;

const RESOURCE: &str = "http://127.0.0.1:8080/mcp";
const REQUESTS: &str = "mcp_auth_requests_total";

/// A series: its name and labels.
type Series = (String, BTreeMap<String, String>);

fn series(name: &str, labels: &[(&str, &str)]) -> Series {
    let labels = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    (name.to_owned(), labels)
}

/// Everything recorded so far. A snapshot drains the recorder's counters
/// and gauges (the crate moves its gauges by increments), so values are
/// summed over snapshots; histograms keep their sample counts.
#[derive(Default)]
struct Totals {
    counters: HashMap<Series, u64>,
    gauges: HashMap<Series, f64>,
    samples: HashMap<Series, usize>,
}

impl Totals {
    fn take(&mut self, snapshotter: &Snapshotter) {
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let key = key.key();
            let labels = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            let series = (key.name().to_owned(), labels);
            match value {
                DebugValue::Counter(n) => *self.counters.entry(series).or_default() += n,
                DebugValue::Gauge(g) => *self.gauges.entry(series).or_default() += g.into_inner(),
                DebugValue::Histogram(v) => *self.samples.entry(series).or_default() += v.len(),
            }
        }
    }

    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.counters
            .get(&series(name, labels))
            .copied()
            .unwrap_or(0)
    }

    /// Every guarded-request decision, whatever its labels.
    fn decisions(&self) -> u64 {
        self.counters
            .iter()
            .filter(|((name, _), _)| name == REQUESTS)
            .map(|(_, n)| n)
            .sum()
    }

    fn requests(&self, outcome: &str, reason: &str) -> u64 {
        let labels = [
            ("resource", RESOURCE),
            ("outcome", outcome),
            ("reason", reason),
        ];
        self.counter(REQUESTS, &labels)
    }

    /// Every series name and label set seen.
    fn all(&self) -> impl Iterator<Item = &Series> {
        self.counters
            .keys()
            .chain(self.gauges.keys())
            .chain(self.samples.keys())
    }
}

fn bearer(token: Option<&str>) -> TestRequest {
    let req = TestRequest::post().uri("/mcp");
    match token {
        Some(token) => req.insert_header((header::AUTHORIZATION, format!("Bearer {token}"))),
        None => req,
    }
}

async fn status<S, R, B>(app: &S, req: R) -> u16
where
    S: Service<R, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    test::call_service(app, req).await.status().as_u16()
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// xorshift64*: reproducible from the seed printed by the test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// Letters and digits, 8 to 23 of them: long enough to be recognised
    /// in a label value.
    fn word(&mut self) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let len = 8 + self.below(16) as usize;
        (0..len)
            .map(|_| ALPHABET[self.below(ALPHABET.len() as u64) as usize] as char)
            .collect()
    }

    /// Visible ASCII (what a header value may hold), 1 to 200 characters.
    fn printable(&mut self) -> String {
        let len = 1 + self.below(200) as usize;
        (0..len)
            .map(|_| (0x21 + self.below(94) as u8) as char)
            .collect()
    }
}

/// A hostile token of kind `i % 12`, and the random parts it carries.
fn bad_token(issuer: &TestIssuer, rng: &mut Rng, i: usize) -> (String, Vec<String>) {
    let word = rng.word();
    let token = |b: mcp_auth::testing::TokenBuilder<'_>| b.scopes(&["mcp:read"]).sign();
    let token = match i % 12 {
        0 => rng.printable(),
        1 => [rng.bytes(20), rng.bytes(60), rng.bytes(40)]
            .iter()
            .map(b64)
            .collect::<Vec<_>>()
            .join("."),
        2 => {
            let header = json!({"alg": "RS256", "kid": word});
            let claims = json!({"iss": issuer.issuer(), "aud": RESOURCE, "sub": word, "exp": 4_000_000_000u64});
            format!(
                "{}.{}.{}",
                b64(header.to_string()),
                b64(claims.to_string()),
                b64(rng.bytes(256))
            )
        }
        3 => token(issuer.token_builder(RESOURCE).header("kid", word.as_str())),
        4 => token(
            issuer
                .token_builder(RESOURCE)
                .claim("iss", format!("https://{word}.example")),
        ),
        5 => token(issuer.token_builder(&format!("https://{word}.example/mcp"))),
        6 => token(issuer.token_builder(RESOURCE).header("alg", word.as_str())),
        7 => {
            let valid = token(issuer.token_builder(RESOURCE).claim("sub", word.as_str()));
            let (signed, _) = valid.rsplit_once('.').expect("a JWS");
            format!("{signed}.{}", b64(rng.bytes(256)))
        }
        8 => token(issuer.token_builder(RESOURCE).header("typ", word.as_str())),
        9 => token(
            issuer
                .token_builder(RESOURCE)
                .claim("client_id", word.as_str())
                .expires_in(-100 - rng.below(100_000) as i64),
        ),
        10 => token(
            issuer
                .token_builder(RESOURCE)
                .header("crit", json!([word]))
                .claim("nbf", 4_000_000_000u64),
        ),
        // Valid, but without the required scope: a 403.
        _ => issuer
            .token_builder(RESOURCE)
            .claim("sub", word.as_str())
            .scopes(&["mcp:write"])
            .sign(),
    };
    (token, vec![word])
}

#[actix_rt::test]
async fn decisions_fetches_and_bounded_labels() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let mut totals = Totals::default();

    let issuer = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .without_declared_resources()
        .resource(
            ResourceConfig::new(RESOURCE)
                .scopes_supported(["mcp:read", "mcp:write"])
                .authorization_server(issuer.discovery_config()),
        )
        .build()
        .expect("valid configuration");
    let guard = auth
        .bearer_auth(RESOURCE)
        .unwrap()
        .required_scopes(["mcp:read"])
        .unwrap();
    let app = test::init_service(
        App::new().app_data(auth.clone()).service(
            web::scope("/mcp")
                .wrap(guard)
                .default_service(web::to(HttpResponse::Ok)),
        ),
    )
    .await;

    // Discovery and keys are fetched on first use, not at build.
    totals.take(&snapshotter);
    assert!(
        !totals
            .all()
            .any(|(name, _)| name.starts_with("mcp_auth_fetch")),
        "fetched before the first request"
    );

    // (a) One decision of each kind.
    let valid = issuer.token(RESOURCE, &["mcp:read"]);
    let expired = issuer
        .token_builder(RESOURCE)
        .scopes(&["mcp:read"])
        .expires_in(-3600)
        .sign();
    let wrong_audience = issuer.token("https://other.example/mcp", &["mcp:read"]);
    let write_only = issuer.token(RESOURCE, &["mcp:write"]);
    let cases = [
        (Some(&valid), 200),
        (Some(&valid), 200), // from the verified-token cache
        (None, 401),
        (Some(&expired), 401),
        (Some(&wrong_audience), 401),
        (Some(&write_only), 403),
    ];
    for (token, expected) in cases {
        assert_eq!(
            status(&app, bearer(token.map(String::as_str)).to_request()).await,
            expected
        );
    }
    totals.take(&snapshotter);
    assert_eq!(totals.requests("ok", "none"), 2);
    assert_eq!(totals.requests("missing_token", "none"), 1);
    assert_eq!(totals.requests("invalid_token", "expired"), 1);
    assert_eq!(totals.requests("invalid_token", "audience"), 1);
    assert_eq!(totals.requests("insufficient_scope", "none"), 1);
    let decisions = totals.decisions();
    assert_eq!(decisions, 6, "one decision per request");

    // One token check per request with a token; only the repeat was cached.
    let checks = |cache: &str| {
        let labels = [("resource", RESOURCE), ("cache", cache)];
        totals
            .samples
            .get(&series("mcp_auth_verification_seconds", &labels))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!((checks("hit"), checks("miss")), (1, 4));
    let jwt = [("cache", "jwt")];
    assert_eq!(totals.counter("mcp_auth_token_cache_hits_total", &jwt), 1);
    assert_eq!(totals.counter("mcp_auth_token_cache_misses_total", &jwt), 4);
    let entries = totals.gauges[&series("mcp_auth_token_cache_entries", &jwt)];
    assert_eq!(entries, 2.0, "the two verified tokens are cached");
    assert!(totals.gauges[&series("mcp_auth_token_cache_bytes", &jwt)] > 0.0);

    // (c) The first verification discovered the issuer and fetched its keys.
    for kind in ["discovery", "jwks"] {
        let fetches = totals.counter(
            "mcp_auth_fetches_total",
            &[("kind", kind), ("result", "ok")],
        );
        assert!(fetches >= 1, "no successful {kind} fetch");
        assert!(totals.samples[&series("mcp_auth_fetch_seconds", &[("kind", kind)])] >= 1);
    }

    // A key the issuer added is picked up on first use: a rotation.
    let kid = issuer.add_key(Algorithm::RS256);
    let rotated = issuer
        .token_builder(RESOURCE)
        .key(&kid)
        .scopes(&["mcp:read"])
        .sign();
    assert_eq!(status(&app, bearer(Some(&rotated)).to_request()).await, 200);
    totals.take(&snapshotter);
    let rotations = [("issuer", issuer.issuer())];
    assert_eq!(
        totals.counter("mcp_auth_key_rotations_total", &rotations),
        1
    );

    // (b) A thousand hostile tokens.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64
        | 1;
    println!("seed {seed}");
    let mut rng = Rng(seed);
    let before = decisions + 1;
    let mut presented: Vec<String> = Vec::new();
    for i in 0..1_000 {
        let (token, parts) = bad_token(&issuer, &mut rng, i);
        let code = status(&app, bearer(Some(&token)).to_request()).await;
        assert!(
            matches!(code, 400 | 401 | 403),
            "seed {seed}, token #{i}: {code}"
        );
        presented.extend(token.split('.').map(str::to_owned));
        presented.extend(parts);
    }
    totals.take(&snapshotter);
    let decisions = totals.decisions();
    assert_eq!(decisions - before, 1_000, "one decision per request");

    let mut values: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for (_, labels) in totals.all() {
        for (key, value) in labels {
            values.entry(key).or_default().insert(value);
        }
    }
    let allowed: HashMap<&str, BTreeSet<&str>> = [
        ("resource", vec![RESOURCE]),
        ("issuer", vec![issuer.issuer()]),
        (
            "outcome",
            vec![
                "ok",
                "missing_token",
                "invalid_request",
                "invalid_token",
                "insufficient_scope",
            ],
        ),
        ("cache", vec!["hit", "miss", "jwt"]),
        ("kind", vec!["discovery", "jwks"]),
        ("result", vec!["ok"]),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.into_iter().collect()))
    .collect();
    for (key, seen) in &values {
        if *key == "reason" {
            assert!(seen.len() <= 15, "too many reasons: {seen:?}");
            continue;
        }
        let expected = allowed
            .get(key)
            .unwrap_or_else(|| panic!("unexpected label `{key}`"));
        assert!(seen.is_subset(expected), "`{key}`: {seen:?}");
    }
    println!("reasons: {:?}", values["reason"]);
    for reason in [
        "malformed",
        "unknown_key",
        "issuer",
        "audience",
        "algorithm",
    ] {
        assert!(
            values["reason"].contains(reason),
            "no `{reason}` among {:?}",
            values["reason"]
        );
    }
    for part in presented.iter().filter(|p| p.len() >= 6) {
        for value in values.values().flatten() {
            assert!(
                !value.contains(part.as_str()),
                "seed {seed}: label value `{value}` contains `{part}`"
            );
        }
    }
}

/// DPoP decisions are counted with RFC 9449's error codes as `outcome` and
/// the failed check as `reason`; no proof or token reaches a label.
#[actix_rt::test]
async fn dpop_decisions() {
    use mcp_auth::{DpopMode, DpopOptions, NonceKey, testing::DpopKey};

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let mut totals = Totals::default();

    let issuer = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .without_declared_resources()
        .resource(
            ResourceConfig::new(RESOURCE)
                .authorization_server(issuer.resolved_config())
                .dpop(DpopMode::Allowed),
        )
        .dpop(DpopOptions::default().nonces(NonceKey::new([9u8; 32])))
        .build()
        .expect("valid configuration");
    let guard = auth.bearer_auth(RESOURCE).unwrap();
    let app = test::init_service(
        App::new().app_data(auth.clone()).service(
            web::scope("/mcp")
                .wrap(guard)
                .default_service(web::to(HttpResponse::Ok)),
        ),
    )
    .await;
    let key = DpopKey::generate(Algorithm::ES256);
    let other = DpopKey::generate(Algorithm::ES256);
    let token = issuer.token_builder(RESOURCE).dpop_bound(&key).sign();
    let dpop = |proof: Option<&str>| {
        let req = TestRequest::post()
            .uri("/mcp")
            .insert_header((header::AUTHORIZATION, format!("DPoP {token}")));
        match proof {
            Some(proof) => req.insert_header(("DPoP", proof.to_owned())),
            None => req,
        }
    };
    let url = RESOURCE;
    let resp = test::call_service(
        &app,
        dpop(Some(&key.proof("POST", url, Some(&token)))).to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 401);
    let nonce = resp
        .headers()
        .get("DPoP-Nonce")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let proof = |signer: &DpopKey, method: &str| {
        signer
            .proof_builder(method, url)
            .access_token(&token)
            .nonce(&nonce)
            .sign()
    };
    let valid = proof(&key, "POST");
    let cases = [
        (dpop(Some(&valid)), 200),
        (dpop(Some(&valid)), 401),
        (dpop(Some(&proof(&key, "GET"))), 401),
        (dpop(Some(&proof(&other, "POST"))), 401),
        (dpop(None), 401),
        (bearer(Some(&token)), 401),
    ];
    for (req, expected) in cases {
        assert_eq!(status(&app, req.to_request()).await, expected);
    }
    totals.take(&snapshotter);
    assert_eq!(totals.requests("use_dpop_nonce", "nonce"), 1);
    assert_eq!(totals.requests("ok", "none"), 1);
    assert_eq!(totals.requests("invalid_dpop_proof", "replay"), 1);
    assert_eq!(totals.requests("invalid_dpop_proof", "htm"), 1);
    assert_eq!(totals.requests("invalid_token", "binding"), 1);
    assert_eq!(totals.requests("invalid_dpop_proof", "missing"), 1);
    assert_eq!(totals.requests("invalid_token", "bound_as_bearer"), 1);
    assert_eq!(totals.decisions(), 7);
    // Labels are the resource and fixed words; nothing from a request.
    for (_, labels) in totals.all() {
        for value in labels.values() {
            assert!(
                value == RESOURCE || value.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "label value {value}"
            );
        }
    }
}
