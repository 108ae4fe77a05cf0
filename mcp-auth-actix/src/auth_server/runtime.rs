//! One authorization server at run time: its metadata (given, or discovered
//! lazily with single-flight and retry) and its JWKS cache.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use actix_web::web::Bytes;
use arc_swap::ArcSwapOption;

use crate::{
    auth_server::{
        AuthServerConfig, AuthServerSource, AuthServerType, AuthorizationServerMetadata,
        FetchOptions, discover_server_config, fetch_server_config, validate_server_config,
    },
    error::{AuthError, FetchError, Reason},
    flight::Flight,
    verify::{KeyRefreshPolicy, KeyStore, TrustedIssuer},
};

/// Metadata in hand, with what is derived from it.
pub(crate) struct Resolved {
    pub(crate) metadata: Arc<AuthorizationServerMetadata>,
    /// Serialized metadata for the legacy `/.well-known/oauth-authorization-server`.
    pub(crate) json: Bytes,
    /// `None` when the server publishes no `jwks_uri`.
    pub(crate) keys: Option<Arc<KeyStore>>,
}

pub(crate) struct AuthServer {
    issuer: String,
    /// The issuer as tokens' `iss` is checked against it.
    trusted: TrustedIssuer,
    server_type: Option<AuthServerType>,
    fetch: FetchOptions,
    key_refresh: KeyRefreshPolicy,
    resolved: ArcSwapOption<Resolved>,
    flight: Flight,
    /// Last discovery failure, to fail fast for a moment instead of
    /// hammering a dead server on every request.
    failure: Mutex<Option<(Instant, FetchError)>>,
}

/// Time a shared run may take beyond its own HTTP deadlines.
pub(crate) const FLIGHT_SLACK: Duration = Duration::from_secs(1);

/// After a failed discovery, requests fail fast for this long.
const DISCOVERY_RETRY: Duration = Duration::from_secs(1);

impl AuthServer {
    pub(crate) fn new(
        config: &AuthServerConfig,
        key_refresh: KeyRefreshPolicy,
    ) -> Result<Arc<Self>, FetchError> {
        let server = Arc::new(Self {
            issuer: config.issuer().to_owned(),
            trusted: TrustedIssuer {
                issuer: config.issuer().to_owned(),
                tenants: config.tenants.clone(),
            },
            server_type: config.server_type(),
            fetch: config.fetch.clone(),
            key_refresh,
            resolved: ArcSwapOption::empty(),
            // Discovery may probe up to four well-known URLs in turn.
            flight: Flight::new(config.fetch.http.timeout.saturating_mul(4) + FLIGHT_SLACK),
            failure: Mutex::new(None),
        });
        if let AuthServerSource::Resolved { metadata, .. } = &config.source {
            server
                .resolved
                .store(Some(Arc::new(server.resolve(metadata.clone())?)));
        }
        Ok(server)
    }

    pub(crate) fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The issuer (or multi-tenant template) tokens are checked against.
    pub(crate) fn trusted(&self) -> &TrustedIssuer {
        &self.trusted
    }

    fn resolve(&self, metadata: Arc<AuthorizationServerMetadata>) -> Result<Resolved, FetchError> {
        let keys = match &metadata.jwks_uri {
            Some(uri) => Some(KeyStore::new(
                &self.issuer,
                self.fetch.http.check_url(uri)?,
                self.fetch.http.clone(),
                self.key_refresh.clone(),
            )),
            None => None,
        };
        let json = serde_json::to_vec(&*metadata)
            .map(Bytes::from)
            .unwrap_or_default();
        Ok(Resolved {
            metadata,
            json,
            keys,
        })
    }

    /// The metadata, fetching it on first use. Concurrent callers share one
    /// fetch; a failure is not cached beyond a short fail-fast window.
    pub(crate) async fn resolved(self: &Arc<Self>) -> Result<Arc<Resolved>, AuthError> {
        if let Some(resolved) = self.resolved.load_full() {
            return Ok(resolved);
        }
        if let Some(err) = self.recent_failure() {
            return Err(AuthError::unavailable(Reason::Discovery, err));
        }
        let this = self.clone();
        // Up to three well-known URLs may be probed.
        let wait = self
            .fetch
            .http
            .timeout
            .saturating_mul(3)
            .saturating_add(Duration::from_millis(500));
        self.flight
            .run(move || async move { this.discover().await }, wait)
            .await;
        self.resolved.load_full().ok_or_else(|| {
            AuthError::unavailable(
                Reason::Discovery,
                self.recent_failure()
                    .map_or_else(|| "discovery timed out".to_owned(), |e| e.to_string()),
            )
        })
    }

    fn recent_failure(&self) -> Option<FetchError> {
        let failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        failure
            .as_ref()
            .filter(|(at, _)| at.elapsed() < DISCOVERY_RETRY)
            .map(|(_, e)| e.clone())
    }

    async fn discover(&self) {
        let fetched = match self.server_type {
            Some(ty) => fetch_server_config(&self.issuer, ty, &self.fetch).await,
            None => discover_server_config(&self.issuer, &self.fetch).await,
        };
        let outcome = fetched.and_then(|config| {
            let metadata = Arc::new(config.metadata().cloned().unwrap_or_default());
            let validation = validate_server_config(&metadata, false);
            if !validation.is_valid() {
                return Err(FetchError::InvalidMetadata {
                    issuer: self.issuer.clone(),
                    codes: validation.errors.iter().map(|c| c.as_str()).collect(),
                });
            }
            for warning in &validation.warnings {
                tracing::warn!(issuer = %self.issuer, code = warning.as_str(), "{}", warning.description());
            }
            self.resolve(metadata)
        });
        match outcome {
            Ok(resolved) => {
                self.resolved.store(Some(Arc::new(resolved)));
                *self.failure.lock().unwrap_or_else(|e| e.into_inner()) = None;
            }
            Err(err) => {
                tracing::error!(issuer = %self.issuer, error = %err, "authorization server discovery failed");
                *self.failure.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((Instant::now(), err));
            }
        }
    }
}
