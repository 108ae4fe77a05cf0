//! The issuer's HTTP endpoints: discovery documents, JWKS (with faults),
//! authorization, registration, token and introspection, all with CORS.

use super::*;

/// CORS for every endpoint, so that a page on any origin can discover,
/// register and get tokens: a preflight is answered here with 204
/// (`GET, POST, OPTIONS`, the requested headers); every other response gets
/// `Access-Control-Allow-Origin: *`. No credentials mode: clients
/// authenticate with headers or the body, never with cookies.
pub(super) fn cors<S>(
    req: ServiceRequest,
    service: &S,
) -> impl Future<Output = Result<ServiceResponse, actix_web::Error>> + use<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse, Error = actix_web::Error>,
{
    let answer = if crate::web::cors::is_preflight(req.request()) {
        let res = crate::web::cors::preflight(req.request(), Some("GET, POST, OPTIONS"));
        futures_util::future::Either::Left(std::future::ready(Ok(req.into_response(res))))
    } else {
        futures_util::future::Either::Right(service.call(req))
    };
    async move {
        let mut res = answer.await?;
        res.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            header::HeaderValue::from_static("*"),
        );
        Ok(res)
    }
}

pub(super) async fn oauth_metadata(state: web::Data<State>) -> HttpResponse {
    state.count(Endpoint::OAuthMetadata);
    if !state.discovery.lock().unwrap_or_else(|e| e.into_inner()).0 {
        return HttpResponse::NotFound().finish();
    }
    HttpResponse::Ok().json(state.metadata())
}

pub(super) async fn oidc_metadata(state: web::Data<State>) -> HttpResponse {
    state.count(Endpoint::OidcMetadata);
    if !state.discovery.lock().unwrap_or_else(|e| e.into_inner()).1 {
        return HttpResponse::NotFound().finish();
    }
    HttpResponse::Ok().json(state.metadata())
}

pub(super) async fn jwks(state: web::Data<State>) -> HttpResponse {
    state.count(Endpoint::Jwks);
    let delay = state.jwks_delay.load(Ordering::Relaxed);
    if delay > 0 {
        actix_rt::time::sleep(Duration::from_millis(delay as u64)).await;
    }
    let mode = *state.jwks_mode.lock().unwrap_or_else(|e| e.into_inner());
    match mode {
        JwksMode::Normal => {
            let style = *state.jwks_style.lock().unwrap_or_else(|e| e.into_inner());
            let keys: Vec<Value> = state
                .lock_keys()
                .iter()
                .filter(|k| k.published.load(Ordering::Relaxed))
                .map(|k| k.styled_jwk(style))
                .collect();
            let mut res = HttpResponse::Ok();
            if let Some(age) = *state.jwks_max_age.lock().unwrap_or_else(|e| e.into_inner()) {
                res.insert_header((header::CACHE_CONTROL, format!("max-age={age}")));
            }
            res.json(json!({ "keys": keys }))
        }
        JwksMode::Fail(status) => HttpResponse::build(
            actix_web::http::StatusCode::from_u16(status)
                .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
        )
        .finish(),
        JwksMode::Hang => {
            actix_rt::time::sleep(Duration::from_secs(3600)).await;
            HttpResponse::GatewayTimeout().finish()
        }
        JwksMode::Garbage => HttpResponse::Ok()
            .content_type("application/json")
            .body("{not json"),
        JwksMode::Empty => HttpResponse::Ok().json(json!({ "keys": [] })),
        JwksMode::Stall => {
            // Chunked: the headers and the first chunk go out at once; the
            // stream then stays pending until the client gives up (dropping
            // the connection drops the stream).
            let start = futures_util::stream::once(async {
                Ok::<_, std::convert::Infallible>(web::Bytes::from_static(b"{\"keys\":["))
            });
            HttpResponse::Ok()
                .content_type("application/json")
                .streaming(futures_util::StreamExt::chain(
                    start,
                    futures_util::stream::pending(),
                ))
        }
    }
}

/// A pending authorization code.
pub(super) struct Grant {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    scope: String,
    resource: Option<String>,
    expires: u64,
}

/// The authorization endpoint, approving at once (a test server has no user
/// to ask): PKCE `S256` required, RFC 8707 `resource` remembered, RFC 9207
/// `iss` in the redirect.
pub(super) async fn authorize(
    state: web::Data<State>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    state.count(Endpoint::Authorize);
    let get = |k: &str| query.get(k).cloned();
    let bad = |description: &str| {
        HttpResponse::BadRequest()
            .json(json!({"error": "invalid_request", "error_description": description}))
    };
    let (Some(client_id), Some(redirect_uri)) = (get("client_id"), get("redirect_uri")) else {
        return bad("`client_id` and `redirect_uri` are required");
    };
    let Ok(mut redirect) = url::Url::parse(&redirect_uri) else {
        return bad("`redirect_uri` is not an absolute URL");
    };
    if get("response_type").as_deref() != Some("code") {
        return bad("only `response_type=code` is supported");
    }
    let (Some(code_challenge), Some("S256")) = (
        get("code_challenge"),
        get("code_challenge_method").as_deref(),
    ) else {
        return bad("PKCE with `code_challenge_method=S256` is required");
    };
    let serial = state.serial.fetch_add(1, Ordering::Relaxed);
    let code = format!(
        "code-{serial}-{}",
        b64(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            code_challenge.as_bytes()
        ))
    );
    state
        .grants
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            code.clone(),
            Grant {
                client_id,
                redirect_uri,
                code_challenge,
                scope: get("scope").unwrap_or_default(),
                resource: get("resource"),
                expires: now_secs() + 60,
            },
        );
    {
        let mut pairs = redirect.query_pairs_mut();
        pairs
            .append_pair("code", &code)
            .append_pair("iss", &state.issuer);
        if let Some(st) = get("state") {
            pairs.append_pair("state", &st);
        }
    }
    HttpResponse::Found()
        .insert_header((header::LOCATION, redirect.as_str()))
        .finish()
}

/// RFC 7591 dynamic client registration: every client is accepted.
pub(super) async fn register(
    state: web::Data<State>,
    body: web::Json<Map<String, Value>>,
) -> HttpResponse {
    state.count(Endpoint::Registration);
    let serial = state.serial.fetch_add(1, Ordering::Relaxed);
    let mut client = body.into_inner();
    let client_id = format!("client-{serial}");
    client.insert("client_id".into(), client_id.clone().into());
    client.insert("client_id_issued_at".into(), now_secs().into());
    if client
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str)
        != Some("none")
    {
        client.insert("client_secret".into(), format!("secret-{serial}").into());
        client.insert("client_secret_expires_at".into(), 0.into());
    }
    HttpResponse::Created().json(client)
}

/// The token endpoint: `client_credentials` and `authorization_code` (PKCE),
/// both honouring RFC 8707 `resource`; any client is accepted. With one
/// valid `DPoP` proof (RFC 9449 §5) the token is bound to its key
/// (`cnf.jkt`) and the response says `token_type: DPoP`.
pub(super) async fn token_endpoint(
    req: HttpRequest,
    state: web::Data<State>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    state.count(Endpoint::Token);
    let error = |code: &str, description: &str| {
        HttpResponse::BadRequest().json(json!({"error": code, "error_description": description}))
    };
    let client_id = form
        .get("client_id")
        .cloned()
        .or_else(|| basic_client_id(&req))
        .unwrap_or_else(|| "test-client".into());
    let (scope, resource) = match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => (
            form.get("scope").cloned().unwrap_or_default(),
            form.get("resource").cloned(),
        ),
        Some("authorization_code") => {
            let code = form.get("code").cloned().unwrap_or_default();
            let grant = state
                .grants
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&code);
            let Some(grant) = grant.filter(|g| g.expires > now_secs()) else {
                return error(
                    "invalid_grant",
                    "unknown, used or expired authorization code",
                );
            };
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            let challenge = b64(aws_lc_rs::digest::digest(
                &aws_lc_rs::digest::SHA256,
                verifier.as_bytes(),
            ));
            if challenge != grant.code_challenge {
                return error("invalid_grant", "PKCE verification failed");
            }
            if form.get("redirect_uri") != Some(&grant.redirect_uri) || client_id != grant.client_id
            {
                return error(
                    "invalid_grant",
                    "`redirect_uri` or client does not match the authorization request",
                );
            }
            (
                grant.scope,
                form.get("resource").cloned().or(grant.resource),
            )
        }
        _ => {
            return error(
                "unsupported_grant_type",
                "use client_credentials or authorization_code",
            );
        }
    };
    let Some(resource) = resource else {
        return error(
            "invalid_target",
            "the `resource` parameter (RFC 8707) is required",
        );
    };
    let now = now_secs();
    let jkt = match dpop_proof_key(&req, &state.base, now) {
        Ok(jkt) => jkt,
        Err(description) => return error("invalid_dpop_proof", description),
    };
    let serial = state.serial.fetch_add(1, Ordering::Relaxed);
    let mut claims = json!({
        "iss": state.issuer, "sub": client_id, "client_id": client_id, "aud": resource,
        "scope": scope, "iat": now, "exp": now + 300, "jti": format!("jti-{serial}"),
    });
    if let Some(jkt) = &jkt {
        claims["cnf"] = json!({ "jkt": jkt });
    }
    let Some(key) = state
        .lock_keys()
        .iter()
        .find(|k| k.alg == Algorithm::RS256 && k.published.load(Ordering::Relaxed))
        .cloned()
    else {
        return HttpResponse::InternalServerError().finish();
    };
    let mut header = Map::new();
    header.insert("alg".into(), "RS256".into());
    header.insert("kid".into(), key.kid.clone().into());
    header.insert("typ".into(), "at+jwt".into());
    let token = state.sign(&header, claims.as_object().expect("object"), &key);
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "access_token": token,
            "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
            "expires_in": 300, "scope": scope,
        }))
}

/// The thumbprint of the key of the token request's `DPoP` proof (RFC 9449
/// §5), `None` without one, or why the proof is refused (no replay check:
/// this is a test server).
fn dpop_proof_key(
    req: &HttpRequest,
    issuer: &str,
    now: u64,
) -> Result<Option<String>, &'static str> {
    let mut proofs = req.headers().get_all("dpop");
    let proof = match (proofs.next(), proofs.next()) {
        (None, _) => return Ok(None),
        (Some(proof), None) => proof,
        (Some(_), Some(_)) => return Err("send exactly one DPoP header"),
    };
    let proof = proof.to_str().map_err(|_| "malformed DPoP proof")?;
    let url = url::Url::parse(&format!("{issuer}/token")).map_err(|_| "bad issuer URL")?;
    let opts = crate::DpopOptions::default();
    crate::dpop::check_proof(proof, "POST", &url, None, None, &opts, now)
        .map(|checked| Some(checked.proof.jkt))
        .map_err(|e| e.description())
}

pub(super) fn basic_client_id(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split(':').next()?.to_owned())
}

/// RFC 7662: reports tokens this issuer signed (and did not revoke) as
/// active, with their claims and `token_type: Bearer` unless the token
/// carries its own `token_type` claim.
pub(super) async fn introspect(
    state: web::Data<State>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    state.count(Endpoint::Introspection);
    let delay = state.introspection_delay.load(Ordering::Relaxed);
    if delay > 0 {
        actix_rt::time::sleep(Duration::from_millis(delay as u64)).await;
    }
    let mode = *state
        .introspection_mode
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    match mode {
        IntrospectionMode::Normal => {}
        IntrospectionMode::Fail(status) => {
            return HttpResponse::build(
                actix_web::http::StatusCode::from_u16(status)
                    .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
            )
            .finish();
        }
        IntrospectionMode::Hang => {
            actix_rt::time::sleep(Duration::from_secs(3600)).await;
            return HttpResponse::GatewayTimeout().finish();
        }
        IntrospectionMode::Garbage => {
            return HttpResponse::Ok()
                .content_type("application/json")
                .body("{not json");
        }
    }
    let inactive = HttpResponse::Ok().json(json!({"active": false}));
    let Some(token) = form.get("token") else {
        return inactive;
    };
    let minted = state
        .minted
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(token);
    if !minted
        || state
            .revoked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(token)
    {
        return inactive;
    }
    let Some(payload) = token.split('.').nth(1) else {
        return inactive;
    };
    let claims: Option<Map<String, Value>> = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    match claims {
        Some(mut claims) => {
            claims.insert("active".into(), true.into());
            claims
                .entry("token_type")
                .or_insert_with(|| "Bearer".into());
            HttpResponse::Ok().json(claims)
        }
        _ => inactive,
    }
}
