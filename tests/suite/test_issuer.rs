//! The test issuer itself, as an HTTP client sees it.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::Algorithm;
use mcp_auth::testing::{Endpoint, JwksMode, TestIssuer};
use serde_json::{Value, json};

async fn get(url: &str) -> (u16, Vec<u8>) {
    let mut res = awc::Client::default().get(url).send().await.unwrap();
    (res.status().as_u16(), res.body().await.unwrap().to_vec())
}

async fn get_json(url: &str) -> Value {
    let (status, body) = get(url).await;
    assert_eq!(status, 200, "{url}");
    serde_json::from_slice(&body).unwrap()
}

fn part(token: &str, i: usize) -> Value {
    let seg = token.split('.').nth(i).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(seg).unwrap()).unwrap()
}

#[actix_web::test]
async fn discovery_documents_with_and_without_path() {
    for path in ["", "/tenant"] {
        let issuer = TestIssuer::start_with_path(path).await;
        let iss = issuer.issuer().to_owned();
        let origin = iss.trim_end_matches(path).to_owned();
        for url in [
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!("{origin}/.well-known/openid-configuration{path}"),
            format!("{iss}/.well-known/openid-configuration"),
        ] {
            let doc = get_json(&url).await;
            assert_eq!(doc["issuer"], iss.as_str(), "{url}");
            assert_eq!(doc["jwks_uri"], format!("{iss}/jwks"));
            assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        }
        assert_eq!(issuer.requests(Endpoint::OAuthMetadata), 1);
        assert_eq!(issuer.requests(Endpoint::OidcMetadata), 2);
        issuer.set_discovery(false, true);
        let (status, _) = get(&format!(
            "{origin}/.well-known/oauth-authorization-server{path}"
        ))
        .await;
        assert_eq!(status, 404);
    }
}

#[actix_web::test]
async fn jwks_keys_rotation_and_faults() {
    let issuer = TestIssuer::start().await;
    let jwks = get_json(&issuer.jwks_uri()).await;
    let keys = jwks["keys"].as_array().unwrap();
    let shape: Vec<(String, String)> = keys
        .iter()
        .map(|k| {
            (
                k["kty"].as_str().unwrap().into(),
                k["alg"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("RSA", "RS256"),
            ("RSA", "PS256"),
            ("EC", "ES256"),
            ("OKP", "EdDSA")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert!(
        keys.iter()
            .all(|k| k["use"] == "sig" && k.get("d").is_none()),
        "public keys only"
    );

    let new_kid = issuer.add_key(Algorithm::ES256);
    assert_eq!(
        issuer.current_kid(Algorithm::ES256).as_deref(),
        Some(new_kid.as_str())
    );
    let jwks = get_json(&issuer.jwks_uri()).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 5);
    issuer.retire_key(&new_kid);
    let jwks = get_json(&issuer.jwks_uri()).await;
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["kid"] != new_kid.as_str())
    );

    issuer.set_jwks_mode(JwksMode::Fail(503));
    assert_eq!(get(&issuer.jwks_uri()).await.0, 503);
    issuer.set_jwks_mode(JwksMode::Garbage);
    let (status, body) = get(&issuer.jwks_uri()).await;
    assert_eq!(status, 200);
    assert!(serde_json::from_slice::<Value>(&body).is_err());
    issuer.set_jwks_mode(JwksMode::Normal);
    issuer.set_jwks_max_age(Some(120));
    let res = awc::Client::default()
        .get(issuer.jwks_uri())
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers().get("cache-control").unwrap(), "max-age=120");
    assert_eq!(issuer.requests(Endpoint::Jwks), 6);
}

#[actix_web::test]
async fn jwks_empty_key_set_and_stalled_body() {
    let issuer = TestIssuer::start().await;
    issuer.set_jwks_mode(JwksMode::Empty);
    assert_eq!(get_json(&issuer.jwks_uri()).await, json!({"keys": []}));
    // The status and headers arrive at once; the body never completes.
    issuer.set_jwks_mode(JwksMode::Stall);
    let mut res = awc::Client::default()
        .get(issuer.jwks_uri())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = actix_rt::time::timeout(std::time::Duration::from_millis(300), res.body()).await;
    assert!(body.is_err(), "the body should stall, got {body:?}");
    assert_eq!(issuer.requests(Endpoint::Jwks), 2);
}

#[actix_web::test]
async fn minted_tokens_and_overrides() {
    let issuer = TestIssuer::start().await;
    let token = issuer.token("https://api.example/mcp", &["a", "b"]);
    let (header, claims) = (part(&token, 0), part(&token, 1));
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(
        header["kid"],
        issuer.current_kid(Algorithm::RS256).unwrap().as_str()
    );
    assert_eq!(claims["iss"], issuer.issuer());
    assert_eq!(claims["aud"], "https://api.example/mcp");
    assert_eq!(claims["scope"], "a b");
    for name in ["sub", "client_id", "iat", "exp", "jti"] {
        assert!(claims.get(name).is_some(), "{name}");
    }
    let custom = issuer
        .token_builder("https://api.example/mcp")
        .algorithm(Algorithm::EdDSA)
        .header("typ", "JWT")
        .without_claim("sub")
        .claim("tenant", "t1")
        .expires_in(-60)
        .sign();
    let (header, claims) = (part(&custom, 0), part(&custom, 1));
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "JWT");
    assert!(claims.get("sub").is_none());
    assert_eq!(claims["tenant"], "t1");
    assert!(claims["exp"].as_u64().unwrap() < claims["iat"].as_u64().unwrap());
    // Each algorithm's signature verifies with its published key.
    for alg in [
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ] {
        let token = issuer.token_builder("aud").algorithm(alg).sign();
        let kid = part(&token, 0)["kid"].as_str().unwrap().to_owned();
        let jwks: jsonwebtoken::jwk::JwkSet =
            serde_json::from_value(get_json(&issuer.jwks_uri()).await).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(alg);
        validation.set_audience(&["aud"]);
        jsonwebtoken::decode::<Value>(&token, &key, &validation)
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
    }
}

#[actix_web::test]
async fn client_credentials_with_resource_indicator() {
    let issuer = TestIssuer::start().await;
    let client = awc::Client::default();
    let mut res = client
        .post(issuer.token_endpoint())
        .basic_auth("my-client", "secret")
        .send_form(&[
            ("grant_type", "client_credentials"),
            ("resource", "https://api.example/mcp"),
            ("scope", "mcp:read"),
        ])
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    let claims = part(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["aud"], "https://api.example/mcp");
    assert_eq!(claims["client_id"], "my-client");
    assert_eq!(claims["scope"], "mcp:read");

    let mut res = client
        .post(issuer.token_endpoint())
        .send_form(&[("grant_type", "client_credentials")])
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_target");
    assert_eq!(issuer.requests(Endpoint::Token), 2);
}

#[actix_web::test]
async fn introspection_endpoint() {
    let issuer = TestIssuer::start().await;
    let client = awc::Client::default();
    let token = issuer.token("https://api.example/mcp", &["x"]);
    let introspect = |t: String| {
        let client = client.clone();
        let url = format!("{}/introspect", issuer.issuer());
        async move {
            let mut res = client.post(url).send_form(&[("token", t)]).await.unwrap();
            res.json::<Value>().await.unwrap()
        }
    };
    let active = introspect(token.clone()).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["aud"], "https://api.example/mcp");
    assert_eq!(
        introspect("not-a-token".into()).await,
        json!({"active": false})
    );
    // A forged token (not signed by the issuer) is inactive.
    let forged = format!(
        "{}.{}.sig",
        token.split('.').next().unwrap(),
        token.split('.').nth(1).unwrap()
    );
    assert_eq!(introspect(forged).await["active"], false);
    issuer.revoke(&token);
    assert_eq!(introspect(token).await["active"], false);
    assert_eq!(issuer.requests(Endpoint::Introspection), 4);
}

#[actix_web::test]
async fn registration_and_authorization_code_with_pkce() {
    let issuer = TestIssuer::start().await;
    let client = awc::Client::builder().disable_redirects().finish();
    // RFC 7591 registration.
    let mut res = client
        .post(format!("{}/register", issuer.issuer()))
        .send_json(&json!({"redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none"}))
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let registered: Value = res.json().await.unwrap();
    let client_id = registered["client_id"].as_str().unwrap().to_owned();
    assert!(registered.get("client_secret").is_none(), "public client");

    // PKCE S256: challenge = BASE64URL(SHA256(verifier)).
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"; // RFC 7636 Appendix B
    let authorize = format!(
        "{}/authorize?response_type=code&client_id={client_id}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb\
         &code_challenge={challenge}&code_challenge_method=S256&state=xyz&scope=mcp%3Aread\
         &resource=https%3A%2F%2Fapi.example%2Fmcp",
        issuer.issuer()
    );
    let res = client.get(&authorize).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let location =
        url::Url::parse(res.headers().get("location").unwrap().to_str().unwrap()).unwrap();
    let params: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], issuer.issuer(), "RFC 9207");
    let code = params["code"].clone();

    let exchange = |verifier: &'static str, code: String| {
        let client = client.clone();
        let url = issuer.token_endpoint();
        let client_id = client_id.clone();
        async move {
            client
                .post(url)
                .send_form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("code_verifier", verifier),
                    ("redirect_uri", "http://127.0.0.1:9/cb"),
                    ("client_id", client_id.as_str()),
                ])
                .await
                .unwrap()
        }
    };
    let mut res = exchange("wrong-verifier-wrong-verifier-wrong-verifier", code.clone()).await;
    assert_eq!(res.status(), 400, "bad PKCE verifier");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    // The code was consumed by the failed attempt (single use).
    let res = exchange(verifier, code).await;
    assert_eq!(res.status(), 400);

    // A fresh code with the right verifier yields a token for the resource.
    let res = client.get(&authorize).send().await.unwrap();
    let location =
        url::Url::parse(res.headers().get("location").unwrap().to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let mut res = exchange(verifier, code).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let claims = part(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["aud"], "https://api.example/mcp");
    assert_eq!(claims["scope"], "mcp:read");
    assert_eq!(claims["client_id"], client_id.as_str());
    assert_eq!(issuer.requests(Endpoint::Authorize), 2);
    assert_eq!(issuer.requests(Endpoint::Registration), 1);

    // No PKCE: refused.
    let res = client
        .get(format!("{}/authorize?response_type=code&client_id=c&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2F", issuer.issuer()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

/// Browser-based clients discover, register and get tokens cross-origin:
/// preflights are answered (204, any origin, the requested headers) without
/// reaching the endpoints, and every response, errors included, carries
/// `Access-Control-Allow-Origin: *`.
#[actix_web::test]
async fn cors_for_browser_clients() {
    let issuer = TestIssuer::start_with_path("/tenant").await;
    let iss = issuer.issuer().to_owned();
    let origin = iss.trim_end_matches("/tenant").to_owned();
    let client = awc::Client::default();
    let page = "http://127.0.0.1:9";
    for (url, method, headers) in [
        (
            issuer.token_endpoint(),
            "POST",
            "authorization,content-type",
        ),
        (format!("{iss}/register"), "POST", "content-type"),
        (
            format!("{origin}/.well-known/oauth-authorization-server/tenant"),
            "GET",
            "mcp-protocol-version",
        ),
    ] {
        let res = client
            .request(actix_web::http::Method::OPTIONS, &url)
            .insert_header(("Origin", page))
            .insert_header(("Access-Control-Request-Method", method))
            .insert_header(("Access-Control-Request-Headers", headers))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204, "{url}");
        let h = |name: &str| {
            res.headers()
                .get(name)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(h("access-control-allow-origin"), "*", "{url}");
        assert_eq!(h("access-control-allow-methods"), "GET, POST, OPTIONS");
        assert_eq!(h("access-control-allow-headers"), headers);
    }
    assert_eq!(issuer.requests(Endpoint::Token), 0, "preflights stay out");
    assert_eq!(issuer.requests(Endpoint::Registration), 0);
    assert_eq!(issuer.requests(Endpoint::OAuthMetadata), 0);

    let acao = |res: &awc::ClientResponse<_>| {
        res.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let res = client
        .get(format!(
            "{origin}/.well-known/oauth-authorization-server/tenant"
        ))
        .insert_header(("Origin", page))
        .send()
        .await
        .unwrap();
    assert_eq!((res.status().as_u16(), acao(&res)), (200, Some("*".into())));
    let res = client
        .post(format!("{iss}/register"))
        .insert_header(("Origin", page))
        .send_json(&json!({"grant_types": ["client_credentials"]}))
        .await
        .unwrap();
    assert_eq!((res.status().as_u16(), acao(&res)), (201, Some("*".into())));
    let res = client
        .post(issuer.token_endpoint())
        .insert_header(("Origin", page))
        .basic_auth("browser", "secret")
        .send_form(&[
            ("grant_type", "client_credentials"),
            ("resource", "https://api.example/mcp"),
        ])
        .await
        .unwrap();
    assert_eq!((res.status().as_u16(), acao(&res)), (200, Some("*".into())));
    // An error is readable too (the page can show `invalid_target`).
    let res = client
        .post(issuer.token_endpoint())
        .insert_header(("Origin", page))
        .send_form(&[("grant_type", "client_credentials")])
        .await
        .unwrap();
    assert_eq!((res.status().as_u16(), acao(&res)), (400, Some("*".into())));
    // A plain OPTIONS (no Access-Control-Request-Method) is not a preflight.
    let res = client
        .request(actix_web::http::Method::OPTIONS, issuer.token_endpoint())
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 204);
}
