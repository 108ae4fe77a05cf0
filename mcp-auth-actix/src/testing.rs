//! A small, real authorization server for tests and demos (feature `testing`).
//!
//! [`TestIssuer::start`] binds `127.0.0.1` on an OS-assigned port and serves
//! RFC 8414 and OIDC discovery documents, a JWKS, a token endpoint
//! (`client_credentials`, and `authorization_code` with PKCE from an
//! authorization endpoint that approves at once) honouring RFC 8707
//! `resource`, RFC 7591 client registration, and RFC 7662 introspection, so
//! real MCP clients can run their whole OAuth flow against it. It mints tokens with fresh keys (RS256, PS256,
//! ES256, EdDSA), rotates keys, counts requests per endpoint, and can make
//! its JWKS endpoint fail, hang, stall mid-body, return garbage or an empty
//! key set ([`JwksMode`]). Like the authorization servers browser-based MCP
//! clients use, it answers CORS: preflights get 204 for any origin, and
//! every response carries `Access-Control-Allow-Origin: *`.
//!
//! Never trust a test issuer in production: anyone holding it can mint tokens.
//!
//! ```no_run
//! # async fn demo() {
//! use mcp_auth::{McpAuth, ResourceConfig, testing::TestIssuer};
//! let issuer = TestIssuer::start().await;
//! let auth = McpAuth::builder()
//!     .authorization_server(issuer.discovery_config())
//!     .resource(ResourceConfig::new("http://127.0.0.1:8080/mcp"))
//!     .build()
//!     .unwrap();
//! let token = issuer.token("http://127.0.0.1:8080/mcp", &["mcp:read"]);
//! # }
//! ```

use std::{
    collections::HashMap,
    net::TcpListener,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use actix_web::{
    HttpRequest, HttpResponse,
    dev::{ServerHandle, Service, ServiceRequest, ServiceResponse},
    http::header,
    web,
};
use aws_lc_rs::{
    rand::SystemRandom,
    rsa::KeySize,
    signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value, json};

use crate::{
    auth_server::{AuthServerConfig, AuthServerType, AuthorizationServerMetadata},
    verify::now_secs,
};

/// An endpoint of the test issuer, for [`TestIssuer::requests`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `/.well-known/oauth-authorization-server[/path]`.
    OAuthMetadata,
    /// `/.well-known/openid-configuration` (inserted or appended).
    OidcMetadata,
    /// The JWKS.
    Jwks,
    /// The token endpoint.
    Token,
    /// The introspection endpoint.
    Introspection,
    /// The authorization endpoint.
    Authorize,
    /// The dynamic client registration endpoint.
    Registration,
}

/// What the JWKS endpoint does, for fault tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksMode {
    /// Serve the published keys.
    Normal,
    /// Answer with this HTTP status.
    Fail(u16),
    /// Never answer.
    Hang,
    /// Answer 200 with a body that is not JSON.
    Garbage,
    /// Answer 200 with an empty key set, `{"keys":[]}`: a well-formed JWKS
    /// that publishes no key (every key is withdrawn while this lasts).
    Empty,
    /// Send the status line, the headers and the first bytes of a JSON body,
    /// then never send the rest (a server that stalls mid-response).
    Stall,
}

/// What the introspection endpoint does, for fault tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IntrospectionMode {
    /// Introspect: tokens this issuer signed and did not revoke are active.
    Normal,
    /// Answer with this HTTP status.
    Fail(u16),
    /// Never answer.
    Hang,
    /// Answer 200 with a body that is not JSON.
    Garbage,
}

enum Signer {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

struct TestKey {
    kid: String,
    alg: Algorithm,
    signer: Signer,
    jwk: Value,
    published: AtomicBool,
}

struct State {
    issuer: String,
    keys: Mutex<Vec<Arc<TestKey>>>,
    jwks_mode: Mutex<JwksMode>,
    jwks_max_age: Mutex<Option<u64>>,
    discovery: Mutex<(bool, bool)>,
    counts: Mutex<HashMap<Endpoint, usize>>,
    revoked: Mutex<Vec<String>>,
    minted: Mutex<std::collections::HashSet<String>>,
    grants: Mutex<HashMap<String, Grant>>,
    serial: AtomicU64,
    jwks_delay: AtomicUsize,
    introspection_mode: Mutex<IntrospectionMode>,
    introspection_delay: AtomicUsize,
}

/// A running in-process authorization server. Stops when dropped.
pub struct TestIssuer {
    state: Arc<State>,
    handle: ServerHandle,
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        drop(handle.stop(false));
    }
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::RS256 => "RS256",
        Algorithm::PS256 => "PS256",
        Algorithm::ES256 => "ES256",
        Algorithm::EdDSA => "EdDSA",
        _ => "unsupported",
    }
}

impl TestKey {
    fn generate(kid: String, alg: Algorithm) -> Self {
        let (signer, mut jwk) = match alg {
            Algorithm::RS256 | Algorithm::PS256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
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

    fn sign(&self, message: &[u8]) -> Vec<u8> {
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

impl TestIssuer {
    /// Starts an issuer at `http://127.0.0.1:<port>` with one key per
    /// algorithm (RS256, PS256, ES256, EdDSA). Must run inside an Actix
    /// runtime (`#[actix_web::test]`, `#[actix_web::main]`).
    pub async fn start() -> Self {
        Self::start_with_path("").await
    }

    /// Like [`start`](Self::start) with an issuer path, e.g. `"/tenant"`.
    pub async fn start_with_path(path: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local addr").port();
        let path = path.trim_end_matches('/');
        let state = Arc::new(State {
            issuer: format!("http://127.0.0.1:{port}{path}"),
            keys: Mutex::new(Vec::new()),
            jwks_mode: Mutex::new(JwksMode::Normal),
            jwks_max_age: Mutex::new(None),
            discovery: Mutex::new((true, true)),
            counts: Mutex::new(HashMap::new()),
            revoked: Mutex::new(Vec::new()),
            minted: Mutex::new(Default::default()),
            grants: Mutex::new(HashMap::new()),
            serial: AtomicU64::new(1),
            jwks_delay: AtomicUsize::new(0),
            introspection_mode: Mutex::new(IntrospectionMode::Normal),
            introspection_delay: AtomicUsize::new(0),
        });
        let issuer = Self::with_state(state.clone(), listener, path.to_owned());
        for alg in [
            Algorithm::RS256,
            Algorithm::PS256,
            Algorithm::ES256,
            Algorithm::EdDSA,
        ] {
            issuer.add_key(alg);
        }
        issuer
    }

    fn with_state(state: Arc<State>, listener: TcpListener, path: String) -> Self {
        let data = web::Data::from(state.clone());
        let server = actix_web::HttpServer::new(move || {
            let p = |s: &str| s.replace("{path}", &path);
            actix_web::App::new()
                .app_data(data.clone())
                .wrap_fn(cors)
                .route(
                    &p("/.well-known/oauth-authorization-server{path}"),
                    web::get().to(oauth_metadata),
                )
                .route(
                    &p("/.well-known/openid-configuration{path}"),
                    web::get().to(oidc_metadata),
                )
                .route(
                    &p("{path}/.well-known/openid-configuration"),
                    web::get().to(oidc_metadata),
                )
                .route(&p("{path}/jwks"), web::get().to(jwks))
                .route(&p("{path}/token"), web::post().to(token_endpoint))
                .route(&p("{path}/introspect"), web::post().to(introspect))
                .route(&p("{path}/authorize"), web::get().to(authorize))
                .route(&p("{path}/register"), web::post().to(register))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Self { state, handle }
    }

    /// The issuer identifier, e.g. `http://127.0.0.1:41234`.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The JWKS URL.
    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.state.issuer)
    }

    /// The token endpoint URL.
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.state.issuer)
    }

    /// The introspection endpoint URL.
    pub fn introspection_endpoint(&self) -> String {
        format!("{}/introspect", self.state.issuer)
    }

    /// The metadata document this issuer serves.
    pub fn metadata(&self) -> AuthorizationServerMetadata {
        serde_json::from_value(self.state.metadata()).expect("metadata")
    }

    /// A lazily discovered configuration (RFC 8414) for `McpAuth`.
    pub fn discovery_config(&self) -> AuthServerConfig {
        AuthServerConfig::discover_as(self.issuer(), AuthServerType::OAuth)
    }

    /// A resolved configuration (no discovery request) for `McpAuth`.
    pub fn resolved_config(&self) -> AuthServerConfig {
        AuthServerConfig::resolved(self.metadata(), AuthServerType::OAuth)
    }

    /// A valid RS256 access token for `resource` with `scopes`.
    pub fn token(&self, resource: &str, scopes: &[&str]) -> String {
        self.token_builder(resource).scopes(scopes).sign()
    }

    /// A token to customise before signing.
    pub fn token_builder(&self, resource: &str) -> TokenBuilder<'_> {
        let now = now_secs();
        let serial = self.state.serial.fetch_add(1, Ordering::Relaxed);
        let claims = json!({
            "iss": self.state.issuer,
            "sub": "test-user",
            "client_id": "test-client",
            "aud": resource,
            "iat": now,
            "exp": now + 300,
            "jti": format!("jti-{serial}"),
        });
        TokenBuilder {
            issuer: self,
            header: json!({"typ": "at+jwt"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            claims: claims.as_object().cloned().unwrap_or_default(),
            alg: Algorithm::RS256,
            kid: None,
        }
    }

    /// Generates and publishes a new key; returns its `kid`.
    pub fn add_key(&self, alg: Algorithm) -> String {
        let serial = self.state.serial.fetch_add(1, Ordering::Relaxed);
        let kid = format!("{}-{serial}", alg_name(alg).to_ascii_lowercase());
        let key = TestKey::generate(kid.clone(), alg);
        self.state.lock_keys().push(Arc::new(key));
        kid
    }

    /// Stops publishing `kid` (tokens can still be signed with it, to test
    /// retired or unpublished keys).
    pub fn retire_key(&self, kid: &str) {
        for key in self.state.lock_keys().iter().filter(|k| k.kid == kid) {
            key.published.store(false, Ordering::Relaxed);
        }
    }

    /// The `kid` of the current (most recently added) key for `alg`.
    pub fn current_kid(&self, alg: Algorithm) -> Option<String> {
        self.state
            .lock_keys()
            .iter()
            .rev()
            .find(|k| k.alg == alg && k.published.load(Ordering::Relaxed))
            .map(|k| k.kid.clone())
    }

    /// Switches the JWKS endpoint behaviour.
    pub fn set_jwks_mode(&self, mode: JwksMode) {
        *self
            .state
            .jwks_mode
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = mode;
    }

    /// Sends `Cache-Control: max-age=<secs>` with the JWKS (`None`: no header).
    pub fn set_jwks_max_age(&self, secs: Option<u64>) {
        *self
            .state
            .jwks_max_age
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = secs;
    }

    /// Delays each JWKS response by `millis` (to make concurrent requests overlap).
    pub fn set_jwks_delay(&self, millis: usize) {
        self.state.jwks_delay.store(millis, Ordering::Relaxed);
    }

    /// Switches the introspection endpoint behaviour.
    pub fn set_introspection_mode(&self, mode: IntrospectionMode) {
        *self
            .state
            .introspection_mode
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = mode;
    }

    /// Delays each introspection response by `millis` (to make concurrent
    /// requests overlap).
    pub fn set_introspection_delay(&self, millis: usize) {
        self.state
            .introspection_delay
            .store(millis, Ordering::Relaxed);
    }

    /// Which discovery documents are served (both by default).
    pub fn set_discovery(&self, oauth: bool, oidc: bool) {
        *self
            .state
            .discovery
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = (oauth, oidc);
    }

    /// Makes introspection report `token` as inactive.
    pub fn revoke(&self, token: &str) {
        self.state
            .revoked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(token.to_owned());
    }

    /// How many requests `endpoint` has served.
    pub fn requests(&self, endpoint: Endpoint) -> usize {
        self.state
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&endpoint)
            .copied()
            .unwrap_or(0)
    }
}

impl State {
    fn lock_keys(&self) -> std::sync::MutexGuard<'_, Vec<Arc<TestKey>>> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, endpoint: Endpoint) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(endpoint)
            .or_default() += 1;
    }

    fn metadata(&self) -> Value {
        let iss = &self.issuer;
        json!({
            "issuer": iss,
            "authorization_endpoint": format!("{iss}/authorize"),
            "token_endpoint": format!("{iss}/token"),
            "jwks_uri": format!("{iss}/jwks"),
            "introspection_endpoint": format!("{iss}/introspect"),
            "registration_endpoint": format!("{iss}/register"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "scopes_supported": ["mcp:read", "mcp:write"],
            "authorization_response_iss_parameter_supported": true,
        })
    }

    fn sign(
        &self,
        header: &Map<String, Value>,
        claims: &Map<String, Value>,
        key: &TestKey,
    ) -> String {
        let message = format!(
            "{}.{}",
            b64(serde_json::to_vec(header).unwrap_or_default()),
            b64(serde_json::to_vec(claims).unwrap_or_default())
        );
        let signature = b64(key.sign(message.as_bytes()));
        let token = format!("{message}.{signature}");
        self.minted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.clone());
        token
    }
}

/// Builds a custom token: any claim or header member can be set or removed.
pub struct TokenBuilder<'a> {
    issuer: &'a TestIssuer,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    alg: Algorithm,
    kid: Option<String>,
}

impl TokenBuilder<'_> {
    /// Sets the `scope` claim (space-separated).
    pub fn scopes(self, scopes: &[&str]) -> Self {
        self.claim("scope", scopes.join(" "))
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

    /// Sets a header member (e.g. `typ`, `crit`, `jku`). Setting `alg` or
    /// `kid` here overrides what is sent without changing the signing key.
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a header member.
    pub fn without_header(mut self, name: &str) -> Self {
        self.header.remove(name);
        self
    }

    /// Sets `exp` relative to now (negative: already expired).
    pub fn expires_in(self, secs: i64) -> Self {
        let exp = now_secs() as i64 + secs;
        self.claim("exp", exp)
    }

    /// Signs with the current key of `alg` (RS256 by default).
    pub fn algorithm(mut self, alg: Algorithm) -> Self {
        self.alg = alg;
        self
    }

    /// Signs with the key `kid` (which may be retired).
    pub fn key(mut self, kid: &str) -> Self {
        self.kid = Some(kid.to_owned());
        self
    }

    /// The signed compact JWT.
    pub fn sign(self) -> String {
        let key = {
            let keys = self.issuer.state.lock_keys();
            let found = match &self.kid {
                Some(kid) => keys.iter().find(|k| &k.kid == kid),
                None => keys
                    .iter()
                    .rev()
                    .find(|k| k.alg == self.alg && k.published.load(Ordering::Relaxed)),
            };
            found.cloned().expect("no such key in the TestIssuer")
        };
        let mut header = Map::new();
        header.insert("alg".into(), alg_name(key.alg).into());
        header.insert("kid".into(), key.kid.clone().into());
        header.extend(self.header);
        self.issuer.state.sign(&header, &self.claims, &key)
    }
}

/// CORS for every endpoint, so that a page on any origin can discover,
/// register and get tokens: a preflight is answered here with 204
/// (`GET, POST, OPTIONS`, the requested headers); every other response gets
/// `Access-Control-Allow-Origin: *`. No credentials mode: clients
/// authenticate with headers or the body, never with cookies.
fn cors<S>(
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

async fn oauth_metadata(state: web::Data<State>) -> HttpResponse {
    state.count(Endpoint::OAuthMetadata);
    if !state.discovery.lock().unwrap_or_else(|e| e.into_inner()).0 {
        return HttpResponse::NotFound().finish();
    }
    HttpResponse::Ok().json(state.metadata())
}

async fn oidc_metadata(state: web::Data<State>) -> HttpResponse {
    state.count(Endpoint::OidcMetadata);
    if !state.discovery.lock().unwrap_or_else(|e| e.into_inner()).1 {
        return HttpResponse::NotFound().finish();
    }
    HttpResponse::Ok().json(state.metadata())
}

async fn jwks(state: web::Data<State>) -> HttpResponse {
    state.count(Endpoint::Jwks);
    let delay = state.jwks_delay.load(Ordering::Relaxed);
    if delay > 0 {
        actix_rt::time::sleep(Duration::from_millis(delay as u64)).await;
    }
    let mode = *state.jwks_mode.lock().unwrap_or_else(|e| e.into_inner());
    match mode {
        JwksMode::Normal => {
            let keys: Vec<Value> = state
                .lock_keys()
                .iter()
                .filter(|k| k.published.load(Ordering::Relaxed))
                .map(|k| k.jwk.clone())
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
struct Grant {
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
async fn authorize(
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
async fn register(state: web::Data<State>, body: web::Json<Map<String, Value>>) -> HttpResponse {
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
/// both honouring RFC 8707 `resource`; any client is accepted.
async fn token_endpoint(
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
    let serial = state.serial.fetch_add(1, Ordering::Relaxed);
    let claims = json!({
        "iss": state.issuer, "sub": client_id, "client_id": client_id, "aud": resource,
        "scope": scope, "iat": now, "exp": now + 300, "jti": format!("jti-{serial}"),
    });
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
            "access_token": token, "token_type": "Bearer", "expires_in": 300, "scope": scope,
        }))
}

fn basic_client_id(req: &HttpRequest) -> Option<String> {
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
async fn introspect(
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
