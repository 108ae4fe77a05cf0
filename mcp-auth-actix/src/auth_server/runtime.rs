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
        FetchOptions, discover_server_config, discovery::fetch_server_config_at,
        fetch_server_config, validate_server_config,
    },
    error::{AuthError, ConfigError, FetchError, Reason},
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
    /// What the resource metadata's `authorization_servers` lists for it:
    /// `AuthServerConfig::advertise_as`, or the issuer.
    advertised: String,
    /// The issuer as tokens' `iss` is checked against it.
    trusted: TrustedIssuer,
    server_type: Option<AuthServerType>,
    /// `AuthServerConfig::discover_at`'s URL.
    metadata_url: Option<String>,
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

/// An `advertise_as` identifier: an absolute http(s) URL without query or
/// fragment, https unless loopback or insecure http is allowed, and not a
/// `{tenantid}` template.
fn check_advertised(url: &str, allow_insecure_http: bool) -> Result<(), String> {
    let parsed =
        url::Url::parse(url).map_err(|e| format!("`{url}` is not an absolute URL ({e})"))?;
    if parsed.cannot_be_a_base() || !matches!(parsed.scheme(), "https" | "http") {
        return Err(format!("`{url}` is not an http(s) URL"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!(
            "`{url}` has a query or fragment (an issuer identifier has neither, RFC 8414 §2)"
        ));
    }
    if url.contains(crate::verify::TENANT_PLACEHOLDER) {
        return Err(format!(
            "`{url}` is a multi-tenant template, which no client can discover"
        ));
    }
    mcp_auth_rules::resource::secure_scheme("advertise_as", &parsed, allow_insecure_http)
}

/// After a failed discovery, requests fail fast for this long.
const DISCOVERY_RETRY: Duration = Duration::from_secs(1);

impl AuthServer {
    /// The runtime server of `config`, whose provider shape and advertised
    /// identifier are checked here (once per issuer, at build).
    pub(crate) fn new(
        config: &AuthServerConfig,
        key_refresh: KeyRefreshPolicy,
    ) -> Result<Arc<Self>, ConfigError> {
        let issuer = config.issuer();
        let hints = match config.provider {
            Some(provider) => {
                provider
                    .check(issuer)
                    .map_err(|reason| ConfigError::Provider {
                        provider: provider.name(),
                        issuer: issuer.to_owned(),
                        reason,
                    })?;
                provider.hints(issuer)
            }
            None => Vec::new(),
        };
        let advertised = match &config.advertise_as {
            Some(url) => {
                check_advertised(url, config.fetch.http.allow_insecure_http).map_err(|reason| {
                    ConfigError::InvalidField {
                        subject: issuer.to_owned(),
                        field: "advertise_as",
                        reason,
                    }
                })?;
                url.clone()
            }
            None => {
                if config.tenants.is_some() {
                    tracing::warn!(
                        issuer,
                        "the multi-tenant issuer template is advertised as-is in \
                         `authorization_servers`, where no client can discover it; set \
                         `AuthServerConfig::advertise_as(..)` (e.g. \
                         `https://login.microsoftonline.com/organizations/v2.0`)"
                    );
                }
                issuer.to_owned()
            }
        };
        let server = Arc::new(Self {
            issuer: issuer.to_owned(),
            advertised,
            trusted: TrustedIssuer {
                issuer: issuer.to_owned(),
                tenants: config.tenants.clone(),
                hints,
            },
            server_type: config.server_type(),
            metadata_url: match &config.source {
                AuthServerSource::Discovery { metadata_url, .. } => metadata_url.clone(),
                AuthServerSource::Resolved { .. } => None,
            },
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

    /// The identifier listed in the resource metadata's `authorization_servers`.
    pub(crate) fn advertised(&self) -> &str {
        &self.advertised
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
        let fetched = match (&self.metadata_url, self.server_type) {
            (Some(url), ty) => {
                let ty = ty.unwrap_or(AuthServerType::Oidc);
                fetch_server_config_at(url, &self.issuer, ty, &self.fetch).await
            }
            (None, Some(ty)) => fetch_server_config(&self.issuer, ty, &self.fetch).await,
            (None, None) => discover_server_config(&self.issuer, &self.fetch).await,
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
