//! DPoP (RFC 9449 §7) at the HTTP level: a real app with the middleware
//! (`/mcp`, `.wrap(guard)`) and with the extractor (`/extract`,
//! `.app_data(guard)` + `AuthInfo`), tokens from the test issuer, proofs
//! from `testing::DpopKey`. Every refusal is checked for its status, its
//! challenges (which schemes, which one carries `error`, `algs`,
//! `resource_metadata`) and that the handler did not run.

use actix_web::{App, HttpResponse, http::header, test, web};
use futures_util::future::{LocalBoxFuture, ready};
use jsonwebtoken::Algorithm;
use mcp_auth::{
    AuthInfo, DpopMode, DpopOptions, McpAuth, NonceKey, ReplayError, ReplayStore, ResourceConfig,
    testing::{DpopKey, TestIssuer},
    verify::Introspection,
};
use serde_json::json;

use crate::common::{
    METADATA_URL, RESOURCE, Resp, TestApp, challenge_params, send,
    two_resources::{Hits, plain},
};

const ORIGIN: &str = "http://127.0.0.1:8080";
const ALGS: &str = "ES256 ES384 RS256 PS256 EdDSA";
const PATHS: [&str; 2] = ["/mcp", "/extract"];

fn auth(issuer: &TestIssuer, mode: DpopMode, options: DpopOptions) -> McpAuth {
    McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.resolved_config())
        .resource(
            ResourceConfig::new(RESOURCE)
                .scopes_supported(["mcp:read"])
                .dpop(mode),
        )
        .dpop(options)
        .build()
        .expect("valid configuration")
}

/// Counts its runs; echoes the caller's key binding.
async fn bound(auth: AuthInfo, hits: web::Data<Hits>) -> HttpResponse {
    plain(hits, web::Bytes::new()).await;
    HttpResponse::Ok().json(json!({ "jkt": auth.dpop_jkt() }))
}

async fn app(hits: &Hits, auth: &McpAuth) -> impl TestApp + use<> {
    let guard = auth.bearer_auth(RESOURCE).unwrap();
    test::init_service(
        App::new()
            .app_data(web::Data::new(hits.clone()))
            .app_data(auth.clone())
            .configure(mcp_auth::routes)
            .service(
                web::resource("/mcp")
                    .wrap(guard.clone())
                    .route(web::post().to(plain)),
            )
            .service(
                web::resource("/extract")
                    .app_data(guard)
                    .route(web::post().to(bound)),
            ),
    )
    .await
}

/// A POST to `path` with `Authorization: <scheme> <token>` and `proofs`.
fn request(path: &str, scheme: &str, token: &str, proofs: &[String]) -> test::TestRequest {
    let mut req = test::TestRequest::post()
        .uri(path)
        .insert_header((header::AUTHORIZATION, format!("{scheme} {token}")));
    for proof in proofs {
        req = req.append_header(("DPoP", proof.as_str()));
    }
    req
}

fn htu(path: &str) -> String {
    format!("{ORIGIN}{path}")
}

/// What a case expects of its last response.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Ok,
    /// 401 with `error` on the challenge of this scheme.
    Refused(&'static str, &'static str),
    /// 401 without `error` (no credentials this resource understands).
    NoCredentials,
}

/// The challenges of `resp`, as (scheme, params).
fn challenges(resp: &Resp) -> Vec<(String, Vec<(String, String)>)> {
    resp.headers
        .get_all(header::WWW_AUTHENTICATE)
        .map(|v| {
            let v = v.to_str().unwrap();
            let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
            (scheme.to_owned(), challenge_params(rest))
        })
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find_map(|(n, v)| (n == name).then_some(v.as_str()))
}

/// Checks a refusal: status, challenges in order (Bearer where offered,
/// then DPoP where on), `error` only where expected, `algs` and
/// `resource_metadata`.
#[track_caller]
fn check_refusal(resp: &Resp, mode: DpopMode, expect: Expect, ctx: &str) {
    assert_eq!(resp.status, 401, "{ctx}: {}", resp.text());
    let schemes: Vec<&str> = match mode {
        DpopMode::Off => vec!["Bearer"],
        DpopMode::Allowed => vec!["Bearer", "DPoP"],
        _ => vec!["DPoP"],
    };
    let got = challenges(resp);
    assert_eq!(
        got.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
        schemes,
        "{ctx}: {got:?}"
    );
    let (error_scheme, code) = match expect {
        Expect::Refused(scheme, code) => (Some(scheme), Some(code)),
        _ => (None, None),
    };
    for (scheme, params) in &got {
        assert_eq!(
            param(params, "resource_metadata"),
            Some(METADATA_URL),
            "{ctx}"
        );
        if scheme == "DPoP" {
            assert_eq!(params[0], ("algs".into(), ALGS.into()), "{ctx}");
        }
        if Some(scheme.as_str()) == error_scheme {
            assert_eq!(param(params, "error"), code, "{ctx}: {params:?}");
            assert!(param(params, "error_description").is_some(), "{ctx}");
            assert_eq!(resp.json()["error"], code.unwrap(), "{ctx}");
        } else {
            assert_eq!(param(params, "error"), None, "{ctx}: {scheme} {params:?}");
        }
    }
    if let Some(scheme) = error_scheme {
        assert!(got.iter().any(|(s, _)| s == scheme), "{ctx}: no {scheme}");
    }
    let expose = resp.header(header::ACCESS_CONTROL_EXPOSE_HEADERS).unwrap();
    assert!(expose.contains("WWW-Authenticate"), "{ctx}");
}

type Build = fn(&Keys, &str) -> Vec<test::TestRequest>;

/// The keys and tokens of the table.
struct Keys {
    key: DpopKey,
    other: DpopKey,
    bound: String,
    unbound: String,
    expired_bound: String,
}

#[actix_web::test]
async fn adversarial_table() {
    let issuer = TestIssuer::start().await;
    let key = DpopKey::generate(Algorithm::ES256);
    let keys = Keys {
        bound: issuer
            .token_builder(RESOURCE)
            .scopes(&["mcp:read"])
            .dpop_bound(&key)
            .sign(),
        unbound: issuer.token(RESOURCE, &["mcp:read"]),
        expired_bound: issuer
            .token_builder(RESOURCE)
            .dpop_bound(&key)
            .expires_in(-600)
            .sign(),
        other: DpopKey::generate(Algorithm::ES256),
        key,
    };
    use DpopMode::{Allowed, Off, Required};
    use Expect::*;
    #[rustfmt::skip]
    let cases: Vec<(&str, DpopMode, Build, Expect)> = vec![
        ("valid ES256 proof", Allowed, |k, p| vec![request(p, "DPoP", &k.bound, &[k.key.proof("POST", &htu(p), Some(&k.bound))])], Ok),
        ("valid proof, Required", Required, |k, p| vec![request(p, "DPoP", &k.bound, &[k.key.proof("POST", &htu(p), Some(&k.bound))])], Ok),
        ("scheme in lower case", Allowed, |k, p| vec![request(p, "dpop", &k.bound, &[k.key.proof("POST", &htu(p), Some(&k.bound))])], Ok),
        ("unbound Bearer, Allowed", Allowed, |k, p| vec![request(p, "Bearer", &k.unbound, &[])], Ok),
        ("unbound Bearer, Off", Off, |k, p| vec![request(p, "Bearer", &k.unbound, &[])], Ok),
        ("wrong htm", Allowed, |k, p| vec![request(p, "DPoP", &k.bound, &[k.key.proof("GET", &htu(p), Some(&k.bound))])], Refused("DPoP", "invalid_dpop_proof")),
        ("htm in lower case", Allowed, |k, p| vec![request(p, "DPoP", &k.bound, &[k.key.proof("post", &htu(p), Some(&k.bound))])], Refused("DPoP", "invalid_dpop_proof")),
        ("htu other host", Allowed, |k, p| vec![request(p, "DPoP", &k.bound, &[k.key.proof("POST", &format!("http://evil.example{p}"), Some(&k.bound))])], Refused("DPoP", "invalid_dpop_proof")),
        ("htu other port", Allowed, |k, p| vec![request(p, "DPoP", &k.bound, &[k.key.proof("POST", &format!("http://127.0.0.1:8081{p}"), Some(&k.bound))])], Refused("DPoP", "invalid_dpop_proof")),
        ("htu other path", Allowed, |k, p| vec![request(p, "DPoP", &k.bound, &[k.key.proof("POST", &htu("/other"), Some(&k.bound))])], Refused("DPoP", "invalid_dpop_proof")),
        ("stale iat", Allowed, |k, p| vec![request(p, "DPoP", &k.bound, &[k.key.proof_builder("POST", &htu(p)).access_token(&k.bound).issued_in(-310).sign()])], Refused("DPoP", "invalid_dpop_proof")),
        ("future iat", Allowed, |k, p| vec![request(p, "DPoP", &k.bound, &[k.key.proof_builder("POST", &htu(p)).access_token(&k.bound).issued_in(310).sign()])], Refused("DPoP", "invalid_dpop_proof")),
        ("replayed proof", Allowed, |k, p| {
            let proof = k.key.proof("POST", &htu(p), Some(&k.bound));
            vec![request(p, "DPoP", &k.bound, std::slice::from_ref(&proof)), request(p, "DPoP", &k.bound, &[proof])]
        }, Refused("DPoP", "invalid_dpop_proof")),
        ("wrong ath", Allowed, |k, p| vec![request(p, "DPoP", &k.bound, &[k.key.proof("POST", &htu(p), Some(&k.unbound))])], Refused("DPoP", "invalid_dpop_proof")),
        ("no ath", Allowed, |k, p| vec![request(p, "DPoP", &k.bound, &[k.key.proof("POST", &htu(p), None)])], Refused("DPoP", "invalid_dpop_proof")),
        ("proof by another key than cnf.jkt", Allowed, |k, p| vec![request(p, "DPoP", &k.bound, &[k.other.proof("POST", &htu(p), Some(&k.bound))])], Refused("DPoP", "invalid_token")),
        ("signed by another key than jwk", Allowed, |k, p| vec![request(p, "DPoP", &k.bound, &[k.key.proof_builder("POST", &htu(p)).access_token(&k.bound).signed_by(&k.other).sign()])], Refused("DPoP", "invalid_dpop_proof")),
        ("alg none", Allowed, |k, p| vec![request(p, "DPoP", &k.bound, &[k.key.proof_builder("POST", &htu(p)).access_token(&k.bound).header("alg", "none").sign()])], Refused("DPoP", "invalid_dpop_proof")),
        ("alg HS256", Allowed, |k, p| vec![request(p, "DPoP", &k.bound, &[k.key.proof_builder("POST", &htu(p)).access_token(&k.bound).header("alg", "HS256").sign()])], Refused("DPoP", "invalid_dpop_proof")),
        ("typ JWT", Allowed, |k, p| vec![request(p, "DPoP", &k.bound, &[k.key.proof_builder("POST", &htu(p)).access_token(&k.bound).header("typ", "JWT").sign()])], Refused("DPoP", "invalid_dpop_proof")),
        ("private key in jwk", Allowed, |k, p| {
            let mut jwk = k.key.public_jwk();
            jwk["d"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
            vec![request(p, "DPoP", &k.bound, &[k.key.proof_builder("POST", &htu(p)).access_token(&k.bound).header("jwk", jwk).sign()])]
        }, Refused("DPoP", "invalid_dpop_proof")),
        ("two DPoP headers", Allowed, |k, p| vec![request(p, "DPoP", &k.bound, &[k.key.proof("POST", &htu(p), Some(&k.bound)), k.key.proof("POST", &htu(p), Some(&k.bound))])], Refused("DPoP", "invalid_dpop_proof")),
        ("no DPoP header", Allowed, |k, p| vec![request(p, "DPoP", &k.bound, &[])], Refused("DPoP", "invalid_dpop_proof")),
        ("not a JWT", Allowed, |k, p| vec![request(p, "DPoP", &k.bound, &["not-a-jwt".into()])], Refused("DPoP", "invalid_dpop_proof")),
        ("bound token as Bearer, Off", Off, |k, p| vec![request(p, "Bearer", &k.bound, &[])], Refused("Bearer", "invalid_token")),
        ("bound token as Bearer, Allowed", Allowed, |k, p| vec![request(p, "Bearer", &k.bound, &[])], Refused("Bearer", "invalid_token")),
        ("bound token as Bearer with a proof, Allowed", Allowed, |k, p| vec![request(p, "Bearer", &k.bound, &[k.key.proof("POST", &htu(p), Some(&k.bound))])], Refused("Bearer", "invalid_token")),
        ("bound token as Bearer, Required", Required, |k, p| vec![request(p, "Bearer", &k.bound, &[])], Refused("DPoP", "invalid_token")),
        ("unbound token as Bearer, Required", Required, |k, p| vec![request(p, "Bearer", &k.unbound, &[])], Refused("DPoP", "invalid_token")),
        ("unbound token as DPoP", Allowed, |k, p| vec![request(p, "DPoP", &k.unbound, &[k.key.proof("POST", &htu(p), Some(&k.unbound))])], Refused("DPoP", "invalid_token")),
        ("unbound token as DPoP, Required", Required, |k, p| vec![request(p, "DPoP", &k.unbound, &[k.key.proof("POST", &htu(p), Some(&k.unbound))])], Refused("DPoP", "invalid_token")),
        ("expired bound token", Allowed, |k, p| vec![request(p, "DPoP", &k.expired_bound, &[k.key.proof("POST", &htu(p), Some(&k.expired_bound))])], Refused("DPoP", "invalid_token")),
        ("DPoP scheme where DPoP is off", Off, |k, p| vec![request(p, "DPoP", &k.bound, &[k.key.proof("POST", &htu(p), Some(&k.bound))])], NoCredentials),
    ];
    let modes = [Off, Allowed, Required];
    let hits = Hits::default();
    let mut apps = Vec::new();
    for mode in modes {
        let auth = auth(&issuer, mode, DpopOptions::default());
        apps.push(app(&hits, &auth).await);
    }
    let mut failures = Vec::new();
    let mut count = 0;
    for (name, mode, build, expect) in &cases {
        let app = &apps[modes.iter().position(|m| m == mode).unwrap()];
        for path in PATHS {
            count += 1;
            let ctx = format!("{name} ({mode:?}, {path})");
            let mut requests = build(&keys, path);
            let last = requests.pop().unwrap();
            for req in requests {
                let resp = send(app, req).await;
                if resp.status != 200 {
                    failures.push(format!("{ctx}: setup request {}", resp.status));
                }
            }
            let before = hits.count();
            let resp = send(app, last).await;
            let ran = hits.count() - before;
            let result = std::panic::catch_unwind(|| match expect {
                Expect::Ok => {
                    assert_eq!(resp.status, 200, "{ctx}: {}", resp.text());
                    assert_eq!(ran, 1, "{ctx}: handler runs");
                }
                refused => {
                    check_refusal(&resp, *mode, *refused, &ctx);
                    assert_eq!(ran, 0, "{ctx}: the handler ran");
                }
            });
            if let Err(panic) = result {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(msg);
            }
        }
    }
    assert!(count >= 40, "{count}");
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[actix_web::test]
async fn every_algorithm_is_accepted() {
    let issuer = TestIssuer::start().await;
    let hits = Hits::default();
    let auth = auth(&issuer, DpopMode::Required, DpopOptions::default());
    let app = app(&hits, &auth).await;
    for alg in [Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA] {
        let key = DpopKey::generate(alg);
        let token = issuer
            .token_builder(RESOURCE)
            .scopes(&["mcp:read"])
            .dpop_bound(&key)
            .sign();
        let proof = key.proof("POST", &htu("/extract"), Some(&token));
        let resp = send(&app, request("/extract", "DPoP", &token, &[proof])).await;
        assert_eq!(resp.status, 200, "{alg:?}: {}", resp.text());
        assert_eq!(resp.json()["jkt"], key.thumbprint(), "{alg:?}");
    }
}

/// Sends a proof (200), a fresh one while the token is now cached (200), then
/// the first proof again: refused as a replay without running the handler.
/// Returns the handler count after the two accepted requests.
async fn fresh_proofs_pass_a_replay_does_not(
    app: &impl TestApp,
    hits: &Hits,
    key: &DpopKey,
    token: &str,
    path: &str,
) -> usize {
    let first = key.proof("POST", &htu(path), Some(token));
    let resp = send(
        app,
        request(path, "DPoP", token, std::slice::from_ref(&first)),
    )
    .await;
    assert_eq!(resp.status, 200, "{path}: {}", resp.text());
    let fresh = key.proof("POST", &htu(path), Some(token));
    let resp = send(app, request(path, "DPoP", token, &[fresh])).await;
    assert_eq!(resp.status, 200, "{path}: cached token, fresh proof");
    let before = hits.count();
    let resp = send(app, request(path, "DPoP", token, &[first])).await;
    check_refusal(
        &resp,
        DpopMode::Allowed,
        Expect::Refused("DPoP", "invalid_dpop_proof"),
        path,
    );
    assert_eq!(hits.count(), before, "{path}: the handler ran");
    before
}

/// The token comes from the verified-token cache the second time, the
/// proof is still checked: a fresh one is accepted, a replayed one not.
#[actix_web::test]
async fn cached_token_still_needs_a_fresh_proof() {
    let issuer = TestIssuer::start().await;
    let hits = Hits::default();
    let auth = auth(&issuer, DpopMode::Allowed, DpopOptions::default());
    let app = app(&hits, &auth).await;
    let key = DpopKey::generate(Algorithm::ES256);
    let token = issuer.token_builder(RESOURCE).dpop_bound(&key).sign();
    for path in PATHS {
        let before = fresh_proofs_pass_a_replay_does_not(&app, &hits, &key, &token, path).await;
        // Without a proof at all, the cached token is refused too.
        let resp = send(&app, request(path, "DPoP", &token, &[])).await;
        assert_eq!(resp.status, 401, "{path}");
        // And as Bearer (the cached fast path must not accept it).
        let resp = send(&app, request(path, "Bearer", &token, &[])).await;
        assert_eq!(resp.status, 401, "{path}");
        assert_eq!(hits.count(), before, "{path}: the handler ran");
    }
}

/// The exact headers of the challenges (quoted in the docs).
#[actix_web::test]
async fn challenge_headers() {
    let issuer = TestIssuer::start().await;
    let hits = Hits::default();
    let key = DpopKey::generate(Algorithm::ES256);
    let token = issuer.token_builder(RESOURCE).dpop_bound(&key).sign();

    let allowed = app(
        &hits,
        &auth(&issuer, DpopMode::Allowed, DpopOptions::default()),
    )
    .await;
    let proof = key.proof("GET", &htu("/mcp"), Some(&token));
    let resp = send(&allowed, request("/mcp", "DPoP", &token, &[proof])).await;
    let values: Vec<&str> = resp
        .headers
        .get_all(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        values,
        [
            format!("Bearer resource_metadata=\"{METADATA_URL}\""),
            format!(
                "DPoP algs=\"{ALGS}\", error=\"invalid_dpop_proof\", error_description=\"The DPoP proof's `htm` does not match the request method.\", resource_metadata=\"{METADATA_URL}\""
            ),
        ]
    );
    let resp = send(&allowed, test::TestRequest::post().uri("/mcp")).await;
    let values: Vec<&str> = resp
        .headers
        .get_all(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        values,
        [
            format!("Bearer resource_metadata=\"{METADATA_URL}\""),
            format!("DPoP algs=\"{ALGS}\", resource_metadata=\"{METADATA_URL}\""),
        ]
    );

    let required = app(
        &hits,
        &auth(&issuer, DpopMode::Required, DpopOptions::default()),
    )
    .await;
    let resp = send(&required, request("/mcp", "Bearer", &token, &[])).await;
    assert_eq!(
        resp.www(),
        Some(
            format!(
                "DPoP algs=\"{ALGS}\", error=\"invalid_token\", error_description=\"This resource requires a DPoP-bound access token: send `Authorization: DPoP <token>` and a `DPoP` proof.\", resource_metadata=\"{METADATA_URL}\""
            )
            .as_str()
        )
    );
    assert_eq!(resp.headers.get_all(header::WWW_AUTHENTICATE).count(), 1);
    assert_eq!(hits.count(), 0);
}

/// RFC 9449 §9: a proof without the server's nonce is answered
/// `use_dpop_nonce` with a `DPoP-Nonce` header (exposed to browsers); the
/// retry with that nonce succeeds, and its success carries a fresh nonce.
#[actix_web::test]
async fn nonce_required_then_retry() {
    let issuer = TestIssuer::start().await;
    let hits = Hits::default();
    let options = DpopOptions::default().nonces(NonceKey::new([7u8; 32]));
    let auth = auth(&issuer, DpopMode::Allowed, options);
    let app = app(&hits, &auth).await;
    let key = DpopKey::generate(Algorithm::ES256);
    let token = issuer.token_builder(RESOURCE).dpop_bound(&key).sign();
    for path in PATHS {
        let proof = key.proof("POST", &htu(path), Some(&token));
        let resp = send(&app, request(path, "DPoP", &token, &[proof])).await;
        check_refusal(
            &resp,
            DpopMode::Allowed,
            Expect::Refused("DPoP", "use_dpop_nonce"),
            path,
        );
        let nonce = resp.header("DPoP-Nonce").expect("DPoP-Nonce").to_owned();
        let expose = resp.header(header::ACCESS_CONTROL_EXPOSE_HEADERS).unwrap();
        assert!(expose.contains("DPoP-Nonce"), "{expose}");

        let proof = key
            .proof_builder("POST", &htu(path))
            .access_token(&token)
            .nonce(&nonce)
            .sign();
        let resp = send(&app, request(path, "DPoP", &token, &[proof])).await;
        assert_eq!(resp.status, 200, "{path}: {}", resp.text());
        // RFC 9449 §8.2: under `.wrap` a success carries a fresh nonce the
        // client can use next (an extractor alone never sees the response).
        match (path, resp.header("DPoP-Nonce")) {
            ("/mcp", Some(fresh)) => {
                let proof = key
                    .proof_builder("POST", &htu(path))
                    .access_token(&token)
                    .nonce(fresh)
                    .sign();
                let again = send(&app, request(path, "DPoP", &token, &[proof])).await;
                assert_eq!(again.status, 200, "{path}: the fresh nonce is accepted");
            }
            ("/extract", None) => {}
            (path, nonce) => panic!("{path}: DPoP-Nonce {nonce:?}"),
        }
        // Bearer callers get no nonce.
        let bearer = issuer.token(RESOURCE, &["mcp:read"]);
        let resp = send(&app, request(path, "Bearer", &bearer, &[])).await;
        assert_eq!(resp.status, 200, "{path}");
        assert!(resp.header("DPoP-Nonce").is_none(), "{path}");
        let before = hits.count();
        let proof = key
            .proof_builder("POST", &htu(path))
            .access_token(&token)
            .nonce("not-a-nonce")
            .sign();
        let resp = send(&app, request(path, "DPoP", &token, &[proof])).await;
        assert_eq!(resp.status, 401, "{path}");
        assert!(resp.header("DPoP-Nonce").is_some(), "{path}");
        assert_eq!(hits.count(), before, "{path}");
    }
    // Without server nonces, successes carry none.
    let without = self::auth(&issuer, DpopMode::Allowed, DpopOptions::default());
    let plain_app = self::app(&hits, &without).await;
    let proof = key.proof("POST", &htu("/mcp"), Some(&token));
    let resp = send(&plain_app, request("/mcp", "DPoP", &token, &[proof])).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(resp.header("DPoP-Nonce").is_none());
}

/// A replay store that cannot answer.
struct Down;

impl ReplayStore for Down {
    fn check_and_store(
        &self,
        _key: &str,
        _ttl: std::time::Duration,
    ) -> LocalBoxFuture<'_, Result<bool, ReplayError>> {
        Box::pin(ready(Err(ReplayError::new("down"))))
    }
}

/// Fail closed: a replay store that cannot answer is a 503, never an
/// unchecked proof.
#[actix_web::test]
async fn replay_store_down_is_503() {
    let issuer = TestIssuer::start().await;
    let hits = Hits::default();
    let auth = auth(
        &issuer,
        DpopMode::Allowed,
        DpopOptions::default().replay_store(Down),
    );
    let app = app(&hits, &auth).await;
    let key = DpopKey::generate(Algorithm::ES256);
    let token = issuer.token_builder(RESOURCE).dpop_bound(&key).sign();
    for path in PATHS {
        let proof = key.proof("POST", &htu(path), Some(&token));
        let resp = send(&app, request(path, "DPoP", &token, &[proof])).await;
        assert_eq!(resp.status, 503, "{path}: {}", resp.text());
        assert!(resp.www().is_none());
        assert_eq!(resp.header(header::RETRY_AFTER), Some("5"));
    }
    assert_eq!(hits.count(), 0);
}

/// Metadata advertises DPoP from the mode and the options; `build()`
/// refuses bad options and DPoP advertised with the mode `Off`.
#[actix_web::test]
async fn metadata_and_configuration() {
    let issuer = TestIssuer::start().await;
    let hits = Hits::default();
    for (mode, required) in [
        (DpopMode::Off, None),
        (DpopMode::Allowed, None),
        (DpopMode::Required, Some(true)),
    ] {
        let auth = auth(&issuer, mode, DpopOptions::default());
        let app = app(&hits, &auth).await;
        let resp = send(
            &app,
            test::TestRequest::get().uri("/.well-known/oauth-protected-resource/mcp"),
        )
        .await;
        let doc = resp.json();
        assert_eq!(
            doc.get("dpop_bound_access_tokens_required").cloned(),
            required.map(serde_json::Value::from),
            "{mode:?}"
        );
        let algs = doc.get("dpop_signing_alg_values_supported").cloned();
        if mode == DpopMode::Off {
            assert!(algs.is_none_or(|a| a == json!([])), "{mode:?}");
        } else {
            assert_eq!(algs.unwrap(), json!(ALGS.split(' ').collect::<Vec<_>>()));
        }
    }
    let err = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.resolved_config())
        .resource(ResourceConfig::new(RESOURCE).dpop(DpopMode::Allowed))
        .dpop(DpopOptions::default().algorithms([]))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("algorithms"), "{err}");
    let mut metadata = mcp_auth::ResourceServerMetadata::new(RESOURCE);
    metadata.dpop_bound_access_tokens_required = Some(true);
    let err = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(issuer.resolved_config())
        .resource(ResourceConfig::from_metadata(metadata))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("dpop"), "{err}");
}

/// RFC 9449 §5: the test issuer binds the token it issues to the key of a
/// valid proof sent to its token endpoint.
#[actix_web::test]
async fn test_issuer_issues_bound_tokens() {
    let issuer = TestIssuer::start().await;
    let key = DpopKey::generate(Algorithm::ES256);
    let client = awc::Client::default();
    let form = [
        ("grant_type", "client_credentials"),
        ("resource", RESOURCE),
        ("scope", "mcp:read"),
    ];
    let mut res = client
        .post(issuer.token_endpoint())
        .insert_header(("DPoP", key.proof("POST", &issuer.token_endpoint(), None)))
        .send_form(&form)
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let token = body["access_token"].as_str().unwrap().to_owned();

    let hits = Hits::default();
    let auth = auth(&issuer, DpopMode::Required, DpopOptions::default());
    let app = app(&hits, &auth).await;
    let proof = key.proof("POST", &htu("/extract"), Some(&token));
    let resp = send(&app, request("/extract", "DPoP", &token, &[proof])).await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.json()["jkt"], key.thumbprint());

    let mut res = client
        .post(issuer.token_endpoint())
        .insert_header(("DPoP", key.proof("POST", "http://evil.example/token", None)))
        .send_form(&form)
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_dpop_proof");

    let mut res = client
        .post(issuer.token_endpoint())
        .send_form(&form)
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
}

/// Introspection (RFC 7662): `token_type: DPoP` with `cnf.jkt` is accepted
/// and then needs a proof of that key, like a JWT with `cnf`; without
/// `cnf.jkt` it stays refused. The introspection result is cached, the
/// proof never.
#[actix_web::test]
async fn introspected_dpop_tokens() {
    let issuer = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .without_declared_resources()
        .resource(
            ResourceConfig::new(RESOURCE)
                .authorization_server(issuer.resolved_config())
                .introspection(Introspection::client_secret_basic("rs", "secret"))
                .dpop(DpopMode::Allowed),
        )
        .build()
        .unwrap();
    let hits = Hits::default();
    let app = app(&hits, &auth).await;
    let key = DpopKey::generate(Algorithm::ES256);
    let token = issuer
        .token_builder(RESOURCE)
        .dpop_bound(&key)
        .claim("token_type", "DPoP")
        .sign();
    for path in PATHS {
        let before = fresh_proofs_pass_a_replay_does_not(&app, &hits, &key, &token, path).await;
        let resp = send(&app, request(path, "Bearer", &token, &[])).await;
        check_refusal(
            &resp,
            DpopMode::Allowed,
            Expect::Refused("Bearer", "invalid_token"),
            path,
        );
        assert_eq!(hits.count(), before, "{path}: the handler ran");
    }
    let unbound = issuer
        .token_builder(RESOURCE)
        .claim("token_type", "DPoP")
        .sign();
    for scheme in ["DPoP", "Bearer"] {
        let proof = key.proof("POST", &htu("/mcp"), Some(&unbound));
        let resp = send(&app, request("/mcp", scheme, &unbound, &[proof])).await;
        assert_eq!(resp.status, 401, "{scheme}");
        assert_eq!(resp.json()["error"], "invalid_token", "{scheme}");
    }
}

/// A valid proof for a token without the route's scope: 403, the
/// `insufficient_scope` error on the `DPoP` challenge (the scheme used),
/// and the proof was still checked (its replay is a 401). A browser's
/// preflight for the `DPoP` header is granted.
#[actix_web::test]
async fn insufficient_scope_and_preflight() {
    let issuer = TestIssuer::start().await;
    let auth = auth(&issuer, DpopMode::Allowed, DpopOptions::default());
    let guard = auth
        .bearer_auth(RESOURCE)
        .unwrap()
        .required_scopes(["mcp:read"])
        .unwrap();
    let hits = Hits::default();
    let app = hits
        .app(|cfg| {
            cfg.service(
                web::resource("/mcp")
                    .wrap(guard)
                    .route(web::post().to(plain)),
            );
        })
        .await;
    let key = DpopKey::generate(Algorithm::ES256);
    let token = issuer.token_builder(RESOURCE).dpop_bound(&key).sign();
    let proof = key.proof("POST", &htu("/mcp"), Some(&token));
    let resp = send(
        &app,
        request("/mcp", "DPoP", &token, std::slice::from_ref(&proof)),
    )
    .await;
    assert_eq!(resp.status, 403, "{}", resp.text());
    let got = challenges(&resp);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(param(&got[0].1, "error"), None);
    assert_eq!(param(&got[1].1, "error"), Some("insufficient_scope"));
    assert_eq!(param(&got[1].1, "scope"), Some("mcp:read"));
    let resp = send(&app, request("/mcp", "DPoP", &token, &[proof])).await;
    assert_eq!(resp.status, 401);
    assert_eq!(hits.count(), 0);

    let resp = send(
        &app,
        test::TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/mcp")
            .insert_header(("Origin", "https://inspector.example"))
            .insert_header(("Access-Control-Request-Method", "POST"))
            .insert_header(("Access-Control-Request-Headers", "authorization, dpop")),
    )
    .await;
    assert_eq!(resp.status, 204);
    assert_eq!(
        resp.header(header::ACCESS_CONTROL_ALLOW_HEADERS),
        Some("authorization, dpop")
    );
    assert_eq!(hits.count(), 0);
}
