//! RFC 7662 token introspection for opaque access tokens.

use std::{fmt, sync::Arc, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Map, Value};

use super::{AuthServer, TokenCache, deadline, now_secs};
use crate::{
    error::AuthError,
    http::{self, FormPost, HttpOptions},
};

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
/// `active: false` (or a missing/non-boolean `active`) is a 401; a failed
/// call is a 503 (fail closed). Results are cached until the token's `exp`,
/// but never longer than [`cache_ttl`](Self::cache_ttl), which bounds how
/// long a revoked token keeps working.
#[derive(Debug, Clone)]
pub struct Introspection {
    pub(crate) endpoint: Option<String>,
    pub(crate) auth: ClientAuth,
    pub(crate) cache_ttl: Duration,
    pub(crate) cache_capacity: usize,
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
            http: HttpOptions::default(),
        }
    }

    /// An explicit endpoint instead of the metadata's `introspection_endpoint`.
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// Longest time a result is reused. Default 60 s; zero disables caching.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// HTTP limits for the introspection call.
    pub fn http(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }
}

pub(crate) struct IntrospectionVerifier {
    config: Introspection,
    cache: Option<TokenCache<Arc<Map<String, Value>>>>,
}

impl IntrospectionVerifier {
    pub(crate) fn new(config: Introspection) -> Self {
        let capacity = if config.cache_ttl.is_zero() {
            0
        } else {
            config.cache_capacity
        };
        Self {
            cache: TokenCache::new(capacity, super::DEFAULT_CACHE_BYTES),
            config,
        }
    }

    pub(crate) async fn introspect(
        &self,
        token: &str,
        servers: &[Arc<AuthServer>],
    ) -> Result<Arc<Map<String, Value>>, AuthError> {
        if let Some(hit) = self.cache.as_ref().and_then(|c| c.get(token.as_bytes())) {
            return Ok(hit);
        }
        let endpoint = match &self.config.endpoint {
            Some(endpoint) => endpoint.clone(),
            None => self.endpoint_from_metadata(servers).await?,
        };
        let url = self
            .config
            .http
            .check_url(&endpoint)
            .map_err(AuthError::server_error)?;
        let authorization = self.config.auth.header();
        let response = http::post_form_json(
            &url,
            FormPost {
                form: &[("token", token), ("token_type_hint", "access_token")],
                authorization: Some(&authorization),
            },
            &self.config.http,
        )
        .await
        .map_err(|e| {
            tracing::warn!(endpoint = %url, error = %e, "token introspection failed");
            AuthError::unavailable(e)
        })?;
        let claims = response.body;
        if claims.get("active") != Some(&Value::Bool(true)) {
            return Err(AuthError::invalid_token("The access token is not active."));
        }
        let claims = Arc::new(claims);
        if let Some(cache) = &self.cache {
            let now = now_secs();
            let ttl = match claims.get("exp").and_then(Value::as_f64) {
                Some(exp) if exp > now as f64 => Duration::try_from_secs_f64(exp - now as f64)
                    .unwrap_or(Duration::MAX)
                    .min(self.config.cache_ttl),
                Some(_) => Duration::ZERO,
                None => self.config.cache_ttl,
            };
            cache.insert(token.into(), claims.clone(), deadline(ttl));
        }
        Ok(claims)
    }

    async fn endpoint_from_metadata(
        &self,
        servers: &[Arc<AuthServer>],
    ) -> Result<String, AuthError> {
        for server in servers {
            let resolved = server.resolved().await?;
            if let Some(endpoint) = &resolved.metadata.introspection_endpoint {
                return Ok(endpoint.clone());
            }
        }
        Err(AuthError::server_error(
            "no authorization server of this resource publishes an `introspection_endpoint`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
