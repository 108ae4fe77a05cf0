//! RFC 7662 token introspection for opaque access tokens.
//!
//! At most one call per token and per result lifetime: active results are
//! cached until `exp` (at most `cache_ttl`), refusals for
//! `negative_cache_ttl`, and concurrent requests carrying one token share
//! one call (single-flight per token). The call runs in a task of its own on
//! the worker of the request that started it, so a client that disconnects
//! cancels neither the call nor the requests waiting for it. The map of
//! calls in flight is a `std` mutex never held across an `.await`, and is
//! bounded: beyond `MAX_IN_FLIGHT` distinct tokens, calls are not shared.

use std::{
    collections::HashMap,
    fmt,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Map, Value};
use tokio::sync::watch;
use url::Url;

use super::{TokenCache, deadline, now_secs};
use crate::auth_server::{AuthServer, FLIGHT_SLACK};
use crate::{
    auth_server::{AuthServerConfig, AuthServerSource},
    error::{AuthError, ConfigError, Reason},
    http::{self, FormPost, HttpOptions},
    metrics::{self, CacheKind, FetchKind, Stopwatch},
};

/// Distinct tokens whose introspection calls can be shared at once.
const MAX_IN_FLIGHT: usize = 4096;

/// Bounds of the cache of refused tokens (per resource).
const NEGATIVE_CACHE_CAPACITY: usize = 10_000;
const NEGATIVE_CACHE_BYTES: usize = 8 << 20;

/// Accepted values (ASCII case-insensitive) of the response members that
/// say what kind of token was introspected; any other value is refused.
const ACCESS_TOKEN_KINDS: [(&str, &[&str]); 3] = [
    (
        "token_type",
        &[
            "bearer",
            "access_token",
            "urn:ietf:params:oauth:token-type:access_token",
        ],
    ),
    ("token_use", &["access", "access_token"]),
    ("typ", &["bearer", "at+jwt", "application/at+jwt"]),
];

/// How the resource server authenticates to the introspection endpoint
/// (RFC 7662 §2.1 requires some form of authorization).
#[derive(Clone)]
#[non_exhaustive]
pub enum ClientAuth {
    /// HTTP Basic with form-encoded credentials (RFC 6749 §2.3.1).
    ClientSecretBasic {
        /// The resource server's client id.
        client_id: String,
        /// Its secret.
        client_secret: String,
    },
    /// A separate bearer token for the introspection endpoint.
    Bearer(String),
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientSecretBasic { client_id, .. } => f
                .debug_struct("ClientSecretBasic")
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .finish(),
            Self::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

impl ClientAuth {
    fn header(&self) -> String {
        match self {
            Self::ClientSecretBasic {
                client_id,
                client_secret,
            } => {
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                let pair = format!("{}:{}", enc(client_id), enc(client_secret));
                format!("Basic {}", STANDARD.encode(pair))
            }
            Self::Bearer(token) => format!("Bearer {token}"),
        }
    }
}

/// Verify tokens by asking the authorization server (RFC 7662).
///
/// * `active: false` (or a missing/non-boolean `active`) is a 401
///   `invalid_token`, and so is an active token that is not an access token
///   (see below). Such refusals are remembered for
///   [`negative_cache_ttl`](Self::negative_cache_ttl) (default 5 s; at most
///   10 000 tokens per resource), so a client repeating a bad token costs
///   one call per period, not one per request. A token refused a moment
///   before the authorization server learnt about it stays refused for that
///   long.
/// * A failed call (connection error, timeout, non-2xx status, a body that
///   is not a JSON object) is a 503: fail closed, never cached.
/// * Active results are cached until the token's `exp`, but never longer
///   than [`cache_ttl`](Self::cache_ttl), which bounds how long a revoked
///   token keeps working.
/// * Concurrent requests carrying the same token share one call.
///
/// **Only access tokens.** An active response is refused when one of these
/// members is present (and not `null`) with another value, compared ASCII
/// case-insensitively: `token_type` must be `Bearer`, `access_token` or
/// `urn:ietf:params:oauth:token-type:access_token` (so `refresh_token`,
/// RFC 8693 `N_A`, and `DPoP` — a DPoP-bound token sent without its proof,
/// RFC 9449 §7.2 — are refused); `token_use` must be `access` (Amazon
/// Cognito) or `access_token` (Ory Hydra); `typ` must be `Bearer`, `at+jwt`
/// or `application/at+jwt` (Keycloak reports refresh and ID tokens as
/// `Refresh` and `ID`).
///
/// **Which endpoint.** [`endpoint`](Self::endpoint) if set; otherwise the
/// `introspection_endpoint` of the resource's authorization servers. An
/// opaque token does not say who issued it, so tokens are never sent to a
/// guessed server: when the servers' metadata is given, `build()` refuses a
/// resource for which several distinct endpoints (or none) are published.
/// Servers discovered lazily are all discovered on first use (a discovery
/// failure is a 503 until it succeeds); if several distinct endpoints are
/// then published, requests are answered 500 (logged once at `error`) and
/// no token is sent anywhere — set the endpoint.
///
/// `build()` checks the endpoint URL (https, or http to loopback unless
/// `allow_insecure_http` is set here or on the builder).
#[derive(Debug, Clone)]
pub struct Introspection {
    pub(crate) endpoint: Option<String>,
    pub(crate) auth: ClientAuth,
    pub(crate) cache_ttl: Duration,
    pub(crate) cache_capacity: usize,
    pub(crate) negative_cache_ttl: Duration,
    pub(crate) http: HttpOptions,
}

impl Introspection {
    /// Introspection with `client_secret_basic` authentication. The endpoint
    /// comes from the authorization server metadata unless set.
    pub fn client_secret_basic(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self::with_auth(ClientAuth::ClientSecretBasic {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        })
    }

    /// Introspection authenticated with a bearer token.
    pub fn bearer(token: impl Into<String>) -> Self {
        Self::with_auth(ClientAuth::Bearer(token.into()))
    }

    fn with_auth(auth: ClientAuth) -> Self {
        Self {
            endpoint: None,
            auth,
            cache_ttl: Duration::from_secs(60),
            cache_capacity: 10_000,
            negative_cache_ttl: Duration::from_secs(5),
            http: HttpOptions::default(),
        }
    }

    /// An explicit endpoint instead of the metadata's
    /// `introspection_endpoint`. Required when several authorization servers
    /// of the resource publish one.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Longest time an active result is reused. Default 60 s; zero disables
    /// caching.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// Most active results kept at once. Default 10 000; zero disables
    /// caching.
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// How long a refused token (inactive, or not an access token) is
    /// refused without asking again. Default 5 s; zero disables this cache.
    pub fn negative_cache_ttl(mut self, ttl: Duration) -> Self {
        self.negative_cache_ttl = ttl;
        self
    }

    /// HTTP limits for the introspection call.
    pub fn http(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }

    /// Applies the builder's `allow_insecure_http` and checks what can be
    /// known before the first request for `resource` trusting `servers`:
    /// the explicit endpoint's URL, or else that the servers whose metadata
    /// is given publish one usable endpoint and not several.
    pub(crate) fn checked(
        mut self,
        allow_insecure_http: bool,
        resource: &str,
        servers: &[AuthServerConfig],
    ) -> Result<Self, ConfigError> {
        if allow_insecure_http {
            self.http.allow_insecure_http = true;
        }
        let invalid = |reason: String| ConfigError::InvalidField {
            subject: resource.to_owned(),
            field: "introspection_endpoint",
            reason,
        };
        let check = |url: &str| {
            self.http
                .check_url(url)
                .map(drop)
                .map_err(|e| invalid(e.to_string()))
        };
        if let Some(endpoint) = &self.endpoint {
            check(endpoint)?;
            return Ok(self);
        }
        let mut lazy = false;
        let mut published = Published::default();
        for server in servers {
            match &server.source {
                AuthServerSource::Resolved { metadata, .. } => {
                    published.add(server.issuer(), metadata.introspection_endpoint.as_deref());
                }
                AuthServerSource::Discovery { .. } => lazy = true,
            }
        }
        match published.0.as_slice() {
            [] if lazy => {}
            [] => return Err(invalid(NONE_PUBLISHED.into())),
            [(_, endpoint)] => check(endpoint)?,
            _ => return Err(invalid(published.ambiguity())),
        }
        Ok(self)
    }
}

const NONE_PUBLISHED: &str = "no authorization server of this resource publishes an \
                              `introspection_endpoint`; set `Introspection::endpoint`";

/// Distinct introspection endpoints and the first issuer publishing each.
#[derive(Default)]
struct Published(Vec<(String, String)>);

impl Published {
    fn add(&mut self, issuer: &str, endpoint: Option<&str>) {
        if let Some(endpoint) = endpoint
            && !self.0.iter().any(|(_, e)| e == endpoint)
        {
            self.0.push((issuer.to_owned(), endpoint.to_owned()));
        }
    }

    fn ambiguity(&self) -> String {
        let issuers: Vec<&str> = self.0.iter().map(|(i, _)| i.as_str()).collect();
        format!(
            "several authorization servers publish an introspection endpoint ({}) and an opaque \
             token does not say which one issued it; set `Introspection::endpoint`",
            issuers.join(", ")
        )
    }
}

type Claims = Arc<Map<String, Value>>;
type Outcome = Result<Claims, AuthError>;
type Pending = watch::Receiver<Option<Outcome>>;

pub(crate) struct IntrospectionVerifier(Arc<Shared>);

struct Shared {
    config: Introspection,
    cache: Option<TokenCache<Claims>>,
    /// Refused tokens and the refusal to repeat.
    refused: Option<TokenCache<AuthError>>,
    in_flight: Mutex<HashMap<Arc<str>, Pending>>,
    /// The endpoint once known (explicit, or the one the servers publish).
    endpoint: OnceLock<Url>,
    ambiguity_logged: AtomicBool,
}

/// Removes a call from the in-flight map when its task ends, however it ends.
struct Landing {
    shared: Arc<Shared>,
    token: Arc<str>,
    pending: Pending,
}

impl Drop for Landing {
    fn drop(&mut self) {
        let mut flights = self
            .shared
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if flights
            .get(&self.token)
            .is_some_and(|p| p.same_channel(&self.pending))
        {
            flights.remove(&self.token);
        }
    }
}

impl IntrospectionVerifier {
    /// A verifier for `config` (already [`checked`](Introspection::checked)).
    pub(crate) fn new(config: Introspection) -> Self {
        let capacity = if config.cache_ttl.is_zero() {
            0
        } else {
            config.cache_capacity
        };
        let negative_capacity = if config.negative_cache_ttl.is_zero() {
            0
        } else {
            NEGATIVE_CACHE_CAPACITY
        };
        let endpoint = OnceLock::new();
        if let Some(url) = config
            .endpoint
            .as_deref()
            .and_then(|e| config.http.check_url(e).ok())
        {
            let _ = endpoint.set(url);
        }
        Self(Arc::new(Shared {
            cache: TokenCache::new(
                CacheKind::Introspection,
                capacity,
                super::DEFAULT_CACHE_BYTES,
            ),
            refused: TokenCache::new(
                CacheKind::Introspection,
                negative_capacity,
                NEGATIVE_CACHE_BYTES,
            ),
            in_flight: Mutex::new(HashMap::new()),
            endpoint,
            ambiguity_logged: AtomicBool::new(false),
            config,
        }))
    }

    /// A remembered answer for `token`: its active result, or its refusal.
    pub(crate) fn cached(&self, token: &str) -> Option<Outcome> {
        let (shared, token) = (&self.0, token.as_bytes());
        if let Some(claims) = shared.cache.as_ref().and_then(|c| c.get(token)) {
            return Some(Ok(claims));
        }
        shared.refused.as_ref().and_then(|c| c.get(token)).map(Err)
    }

    /// Asks the endpoint (see [`cached`](Self::cached) first).
    pub(crate) async fn introspect(
        &self,
        token: &str,
        servers: &[Arc<AuthServer>],
    ) -> Result<Arc<Map<String, Value>>, AuthError> {
        let shared = &self.0;
        let url = self.endpoint(servers).await?;
        let Some(mut pending) = self.join_or_start(token, url.clone()) else {
            // Too many distinct tokens in flight: this call is not shared.
            return shared.call(&token.into(), &url).await;
        };
        let wait = shared.config.http.timeout + FLIGHT_SLACK * 2;
        match actix_rt::time::timeout(wait, pending.wait_for(Option::is_some)).await {
            Ok(Ok(outcome)) => (*outcome).clone().unwrap_or_else(|| {
                Err(AuthError::unavailable(
                    Reason::Introspection,
                    "token introspection gave no result",
                ))
            }),
            Ok(Err(_)) => Err(AuthError::unavailable(
                Reason::Introspection,
                "token introspection was abandoned",
            )),
            Err(_) => Err(AuthError::unavailable(
                Reason::Introspection,
                "token introspection gave no result in time",
            )),
        }
    }

    /// The call in flight for `token`, or a new one started in a task of
    /// its own; `None` when too many calls are in flight to share another.
    fn join_or_start(&self, token: &str, url: Url) -> Option<Pending> {
        let mut flights = self.0.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pending) = flights.get(token) {
            return Some(pending.clone());
        }
        if flights.len() >= MAX_IN_FLIGHT {
            return None;
        }
        let (done, pending) = watch::channel(None);
        let token: Arc<str> = token.into();
        flights.insert(token.clone(), pending.clone());
        drop(flights);
        let landing = Landing {
            shared: self.0.clone(),
            token,
            pending: pending.clone(),
        };
        let limit = self.0.config.http.timeout + FLIGHT_SLACK;
        actix_rt::spawn(async move {
            let call = landing.shared.call(&landing.token, &url);
            match actix_rt::time::timeout(limit, call).await {
                Ok(outcome) => {
                    done.send_replace(Some(outcome));
                }
                Err(_) => tracing::warn!(
                    endpoint = %url,
                    "token introspection overran its deadline and was abandoned"
                ),
            }
            drop(landing);
        });
        Some(pending)
    }

    /// The endpoint: explicit, or the single one the servers publish.
    async fn endpoint(&self, servers: &[Arc<AuthServer>]) -> Result<Url, AuthError> {
        let shared = &self.0;
        if let Some(url) = shared.endpoint.get() {
            return Ok(url.clone());
        }
        let endpoint = match &shared.config.endpoint {
            Some(endpoint) => endpoint.clone(),
            None => {
                let mut published = Published::default();
                for server in servers {
                    let resolved = server.resolved().await?;
                    published.add(
                        server.issuer(),
                        resolved.metadata.introspection_endpoint.as_deref(),
                    );
                }
                match published.0.as_slice() {
                    [] => return Err(AuthError::server_error(NONE_PUBLISHED)),
                    [(_, endpoint)] => endpoint.clone(),
                    _ => {
                        let reason = published.ambiguity();
                        if !shared.ambiguity_logged.swap(true, Ordering::Relaxed) {
                            tracing::error!(%reason, "token introspection refused");
                        }
                        return Err(AuthError::server_error(reason));
                    }
                }
            }
        };
        let url = shared
            .config
            .http
            .check_url(&endpoint)
            .map_err(AuthError::server_error)?;
        Ok(shared.endpoint.get_or_init(|| url).clone())
    }
}

impl Shared {
    /// One introspection call; its result is cached before it is shared.
    async fn call(&self, token: &Arc<str>, url: &Url) -> Outcome {
        let authorization = self.config.auth.header();
        let started = Stopwatch::start();
        let response = http::post_form_json(
            url,
            FormPost {
                form: &[("token", token), ("token_type_hint", "access_token")],
                authorization: Some(&authorization),
            },
            &self.config.http,
        )
        .await;
        metrics::fetched(FetchKind::Introspection, started, response.as_ref().err());
        let response = response.map_err(|e| {
            // The error names the endpoint, never the token.
            tracing::warn!(endpoint = %url, error = %e, "token introspection failed");
            AuthError::unavailable(Reason::Introspection, e)
        })?;
        let claims = match accept(response.body) {
            Ok(claims) => claims,
            Err(refusal) => {
                if let Some(refused) = &self.refused {
                    let until = deadline(self.config.negative_cache_ttl);
                    refused.insert(token.clone(), refusal.clone(), until);
                }
                return Err(refusal);
            }
        };
        if let Some(cache) = &self.cache {
            let now = now_secs();
            let ttl = match claims.get("exp").and_then(Value::as_f64) {
                Some(exp) if exp > now as f64 => Duration::try_from_secs_f64(exp - now as f64)
                    .unwrap_or(Duration::MAX)
                    .min(self.config.cache_ttl),
                Some(_) => Duration::ZERO,
                None => self.config.cache_ttl,
            };
            cache.insert(token.clone(), claims.clone(), deadline(ttl));
        }
        Ok(claims)
    }
}

/// The claims of an active access token, or why the response refuses it.
fn accept(claims: Map<String, Value>) -> Outcome {
    if claims.get("active") != Some(&Value::Bool(true)) {
        return Err(AuthError::invalid_token(
            Reason::Inactive,
            "The access token is not active.",
        ));
    }
    for (member, accepted) in ACCESS_TOKEN_KINDS {
        match claims.get(member) {
            None | Some(Value::Null) => {}
            Some(Value::String(v)) if accepted.iter().any(|a| a.eq_ignore_ascii_case(v)) => {}
            Some(other) => {
                return Err(AuthError::invalid_token(
                    Reason::TokenType,
                    "The token is not an access token.",
                )
                .with_cause(format!("introspection reports `{member}`: {other}")));
            }
        }
    }
    Ok(Arc::new(claims))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::auth_server::{AuthServerType, AuthorizationServerMetadata};

    #[test]
    fn basic_auth_is_form_encoded() {
        let auth = ClientAuth::ClientSecretBasic {
            client_id: "rs:1".into(),
            client_secret: "p@ss word".into(),
        };
        assert_eq!(
            auth.header(),
            format!("Basic {}", STANDARD.encode("rs%3A1:p%40ss+word"))
        );
        assert!(!format!("{auth:?}").contains("p@ss"));
    }

    #[test]
    fn only_access_tokens_are_accepted() {
        let accepted = [
            json!({"active": true}),
            json!({"active": true, "token_type": "Bearer"}),
            json!({"active": true, "token_type": "bearer"}),
            json!({"active": true, "token_type": "access_token"}),
            json!({"active": true, "token_type": "urn:ietf:params:oauth:token-type:access_token"}),
            json!({"active": true, "token_type": null}),
            json!({"active": true, "token_use": "access"}),
            json!({"active": true, "token_use": "ACCESS_TOKEN"}),
            json!({"active": true, "typ": "Bearer", "token_type": "Bearer"}),
            json!({"active": true, "typ": "at+jwt"}),
        ];
        for claims in accepted {
            let map = claims.as_object().unwrap().clone();
            assert!(accept(map).is_ok(), "{claims}");
        }
        let refused = [
            json!({"active": false, "token_type": "Bearer"}),
            json!({"active": "true"}),
            json!({}),
            json!({"active": true, "token_type": "refresh_token"}),
            json!({"active": true, "token_type": "Refresh_Token"}),
            json!({"active": true, "token_type": "urn:ietf:params:oauth:token-type:refresh_token"}),
            json!({"active": true, "token_type": "N_A"}),
            json!({"active": true, "token_type": "DPoP"}),
            json!({"active": true, "token_type": ""}),
            json!({"active": true, "token_type": ["Bearer"]}),
            json!({"active": true, "token_use": "refresh"}),
            json!({"active": true, "token_use": "refresh_token"}),
            json!({"active": true, "token_use": "id"}),
            json!({"active": true, "token_type": "Bearer", "typ": "Refresh"}),
            json!({"active": true, "typ": "ID"}),
        ];
        for claims in refused {
            let map = claims.as_object().unwrap().clone();
            let err = accept(map).expect_err(&claims.to_string());
            assert_eq!(
                err.kind(),
                crate::error::AuthErrorKind::InvalidToken,
                "{claims}"
            );
        }
    }

    fn resolved(issuer: &str, introspection: Option<&str>) -> AuthServerConfig {
        let metadata = AuthorizationServerMetadata {
            issuer: issuer.into(),
            introspection_endpoint: introspection.map(Into::into),
            ..Default::default()
        };
        AuthServerConfig::resolved(metadata, AuthServerType::OAuth)
    }

    #[test]
    fn build_time_checks() {
        const R: &str = "https://api.example/mcp";
        let i = || Introspection::bearer("t");
        let a = resolved("https://a.example", Some("https://a.example/introspect"));
        let b = resolved("https://b.example", Some("https://b.example/introspect"));
        let b_same = resolved("https://b.example", Some("https://a.example/introspect"));
        let none = resolved("https://c.example", None);
        let lazy = AuthServerConfig::discover_as("https://d.example", AuthServerType::OAuth);
        let ok = |i: Introspection, servers: &[AuthServerConfig]| i.checked(false, R, servers);

        assert!(ok(i(), std::slice::from_ref(&a)).is_ok());
        assert!(ok(i(), &[a.clone(), none.clone()]).is_ok());
        assert!(
            ok(i(), &[a.clone(), b_same]).is_ok(),
            "one distinct endpoint"
        );
        assert!(
            ok(i(), &[a.clone(), lazy.clone()]).is_ok(),
            "decided at first use"
        );
        assert!(ok(i(), std::slice::from_ref(&lazy)).is_ok());
        let err = ok(i(), &[a.clone(), b.clone()]).unwrap_err().to_string();
        assert!(err.contains("set `Introspection::endpoint`"), "{err}");
        assert!(
            err.contains("https://a.example, https://b.example"),
            "{err}"
        );
        assert!(ok(i(), &[a.clone(), b.clone(), lazy]).is_err());
        assert!(ok(i(), std::slice::from_ref(&none)).is_err());
        let explicit = i().endpoint("https://b.example/introspect");
        assert!(ok(explicit, &[a.clone(), b]).is_ok());

        let insecure = resolved("https://e.example", Some("http://e.example/introspect"));
        assert!(ok(i(), std::slice::from_ref(&insecure)).is_err());
        assert!(
            i().checked(true, R, std::slice::from_ref(&insecure))
                .is_ok()
        );
        for bad in [
            "not a url",
            "/introspect",
            "ftp://a.example/i",
            "http://a.example/i",
        ] {
            assert!(
                ok(i().endpoint(bad), std::slice::from_ref(&a)).is_err(),
                "{bad}"
            );
        }
        let lax = i().endpoint("http://a.example/i").checked(true, R, &[a]);
        assert!(lax.is_ok_and(|i| i.http.allow_insecure_http));
    }
}
