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

mod verifier;

use crate::auth_server::{AuthServer, FLIGHT_SLACK};
use crate::{
    auth_server::{AuthServerConfig, AuthServerSource},
    error::{AuthError, ConfigError, Reason},
    http::{self, FormPost, HttpOptions},
    metrics::{self, CacheKind, FetchKind, Stopwatch},
};
pub(crate) use verifier::IntrospectionVerifier;

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
/// RFC 8693 `N_A` are refused), or `DPoP` when the response carries the
/// key binding `cnf.jkt` (RFC 9449 §6.2: the guard then requires a proof of
/// that key, like for a JWT with `cnf`; `DPoP` without `cnf.jkt` is refused); `token_use` must be `access` (Amazon
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
