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

mod dpop;
mod endpoints;
mod keys;
mod tokens;

pub use dpop::{DpopKey, DpopProofBuilder};
use endpoints::{
    Grant, authorize, cors, introspect, jwks, oauth_metadata, oidc_metadata, register,
    token_endpoint,
};
use keys::{TestKey, alg_name, b64};
pub use tokens::TokenBuilder;

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

/// How the published JWKs are shaped, to test real providers' key sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwksStyle {
    /// `kty`, key material, `kid`, `use: sig` and `alg` (the default).
    Standard,
    /// Like Entra ID, Auth0 and Cognito: no `alg` member, so the algorithm
    /// follows from the key type (`kty`/`crv`).
    WithoutAlg,
    /// Like Entra ID: no `alg`, plus `x5c` (one standard-base64 DER blob)
    /// and `x5t` (its SHA-1 thumbprint, base64url). The blob is **not** a
    /// real certificate chain (a DER `SEQUENCE` holding the `kid`); keys are
    /// never taken from `x5c`, only from the JWK's own members.
    WithoutAlgWithX5c,
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

struct State {
    issuer: String,
    /// The issuer without its trailing `/`: endpoint URLs are `{base}/jwks`, ….
    base: String,
    jwks_style: Mutex<JwksStyle>,
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

impl TestIssuer {
    /// Starts an issuer at `http://127.0.0.1:<port>` with one key per
    /// algorithm (RS256, PS256, ES256, EdDSA; the RS256 and PS256 keys share
    /// one RSA key pair under two `kid`s, each with its own `alg`, since RSA
    /// generation dominates the start). Must run inside an Actix runtime
    /// (`#[actix_web::test]`, `#[actix_web::main]`).
    pub async fn start() -> Self {
        Self::start_with_path("").await
    }

    /// Like [`start`](Self::start) with an issuer path, e.g. `"/tenant"`
    /// (a trailing `/` is removed: see
    /// [`start_with_trailing_slash`](Self::start_with_trailing_slash)).
    pub async fn start_with_path(path: &str) -> Self {
        Self::start_at(path, false).await
    }

    /// An issuer whose identifier ends with `/`, as Auth0's
    /// (`https://tenant.auth0.com/`) and Entra ID v1's
    /// (`https://sts.windows.net/<tenant>/`) do: `path` `""` gives
    /// `http://127.0.0.1:<port>/`, `"/tenant"` gives
    /// `http://127.0.0.1:<port>/tenant/`. Its endpoints and discovery
    /// documents are served where they would be without the slash (OIDC:
    /// `…/tenant/.well-known/openid-configuration`, the trailing `/` removed
    /// before appending; RFC 8414: `/.well-known/oauth-authorization-server/tenant`);
    /// `issuer` in the metadata and `iss` in tokens keep the slash.
    pub async fn start_with_trailing_slash(path: &str) -> Self {
        Self::start_at(path, true).await
    }

    async fn start_at(path: &str, trailing_slash: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local addr").port();
        let path = path.trim_end_matches('/');
        let base = format!("http://127.0.0.1:{port}{path}");
        let state = Arc::new(State {
            issuer: if trailing_slash {
                format!("{base}/")
            } else {
                base.clone()
            },
            base,
            jwks_style: Mutex::new(JwksStyle::Standard),
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
        // One RSA key pair for the RS256 and the PS256 key (two kids, each
        // with its own `alg`): RSA generation is most of an issuer's start.
        let rsa = keys::rsa_pair();
        for alg in [
            Algorithm::RS256,
            Algorithm::PS256,
            Algorithm::ES256,
            Algorithm::EdDSA,
        ] {
            issuer.push_key(alg, Some(rsa.clone()));
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
        format!("{}/jwks", self.state.base)
    }

    /// The token endpoint URL.
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.state.base)
    }

    /// The introspection endpoint URL.
    pub fn introspection_endpoint(&self) -> String {
        format!("{}/introspect", self.state.base)
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

    /// Generates and publishes a new key (always a fresh key pair);
    /// returns its `kid`.
    pub fn add_key(&self, alg: Algorithm) -> String {
        self.push_key(alg, None)
    }

    fn push_key(&self, alg: Algorithm, rsa: Option<Arc<RsaKeyPair>>) -> String {
        let serial = self.state.serial.fetch_add(1, Ordering::Relaxed);
        let kid = format!("{}-{serial}", alg_name(alg).to_ascii_lowercase());
        let key = TestKey::with_rsa(kid.clone(), alg, rsa);
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

    /// Switches how the published JWKs are shaped (default
    /// [`JwksStyle::Standard`]).
    pub fn set_jwks_style(&self, style: JwksStyle) {
        *self
            .state
            .jwks_style
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = style;
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
        let iss = &self.base;
        json!({
            "issuer": self.issuer,
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
