//! Fetching authorization server metadata (RFC 8414 §3, OIDC Discovery §4).

use std::{fmt, sync::Arc};

use serde_json::{Map, Value};
use url::Url;

use super::{AuthServerConfig, AuthServerType, AuthorizationServerMetadata};
use crate::{
    error::FetchError,
    http::{self, HttpOptions},
    metrics::{self, FetchKind, Stopwatch},
};

const OAUTH_WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";
const OIDC_WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// A hook that rewrites the raw metadata object before it is parsed (the
/// reference's `transpileData`), e.g. to fill a member a provider omits.
pub type Transpile = Arc<dyn Fn(Map<String, Value>) -> Map<String, Value> + Send + Sync>;

/// Options for metadata fetches.
#[derive(Clone, Default)]
pub struct FetchOptions {
    /// Timeouts, size limit and scheme policy.
    pub(crate) http: HttpOptions,
    pub(crate) transpile: Option<Transpile>,
}

impl FetchOptions {
    pub(crate) fn same_as(&self, other: &Self) -> bool {
        let (a, b) = (&self.http, &other.http);
        a.timeout == b.timeout
            && a.max_body_bytes == b.max_body_bytes
            && a.allow_insecure_http == b.allow_insecure_http
            && match (&self.transpile, &other.transpile) {
                (None, None) => true,
                (Some(x), Some(y)) => Arc::ptr_eq(x, y),
                _ => false,
            }
    }
}

impl FetchOptions {
    /// Sets the HTTP limits.
    pub fn http(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }

    /// Sets the transpile hook, applied to the raw JSON object before parsing.
    pub fn transpile(
        mut self,
        f: impl Fn(Map<String, Value>) -> Map<String, Value> + Send + Sync + 'static,
    ) -> Self {
        self.transpile = Some(Arc::new(f));
        self
    }
}

impl fmt::Debug for FetchOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchOptions")
            .field("http", &self.http)
            .field("transpile", &self.transpile.is_some())
            .finish()
    }
}

fn issuer_url(issuer: &str) -> Result<Url, FetchError> {
    let url = Url::parse(issuer).map_err(|e| FetchError::InvalidUrl {
        url: issuer.to_owned(),
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "https" | "http") || url.cannot_be_a_base() {
        return Err(FetchError::InvalidUrl {
            url: issuer.to_owned(),
            reason: "an issuer must be an http(s) URL".into(),
        });
    }
    if url.fragment().is_some() {
        return Err(FetchError::InvalidUrl {
            url: issuer.to_owned(),
            reason: "an issuer must not have a fragment".into(),
        });
    }
    Ok(url)
}

/// `well_known` inserted between the host and the issuer's path; the
/// issuer's terminating `/` is removed first (RFC 8414 §3.1). The query stays.
fn inserted(issuer: &Url, well_known: &str) -> Url {
    let mut url = issuer.clone();
    let path = issuer.path().trim_end_matches('/');
    url.set_path(&format!("{well_known}{path}"));
    url
}

/// `well_known` appended to the issuer's path, trailing `/` removed first
/// (OIDC Discovery §4).
fn appended(issuer: &Url, well_known: &str) -> Url {
    let mut url = issuer.clone();
    let path = issuer.path().trim_end_matches('/');
    url.set_path(&format!("{path}{well_known}"));
    url
}

/// RFC 8414 metadata URL: `https://a.com/path` →
/// `https://a.com/.well-known/oauth-authorization-server/path`.
pub fn oauth_well_known_url(issuer: &str) -> Result<Url, FetchError> {
    Ok(inserted(&issuer_url(issuer)?, OAUTH_WELL_KNOWN))
}

/// OpenID Connect discovery URL: `https://a.com/path` →
/// `https://a.com/path/.well-known/openid-configuration`.
pub fn oidc_well_known_url(issuer: &str) -> Result<Url, FetchError> {
    Ok(appended(&issuer_url(issuer)?, OIDC_WELL_KNOWN))
}

/// The URLs the MCP specification (2025-11-25 and later) tries, in order:
/// RFC 8414 insertion, OIDC insertion, then OIDC append when the issuer has
/// a path (for a path-less issuer the last two coincide).
pub fn probe_urls(issuer: &str) -> Result<Vec<(Url, AuthServerType)>, FetchError> {
    let url = issuer_url(issuer)?;
    let mut urls = vec![
        (inserted(&url, OAUTH_WELL_KNOWN), AuthServerType::OAuth),
        (inserted(&url, OIDC_WELL_KNOWN), AuthServerType::Oidc),
    ];
    if !url.path().trim_end_matches('/').is_empty() {
        urls.push((appended(&url, OIDC_WELL_KNOWN), AuthServerType::Oidc));
    }
    Ok(urls)
}

/// Fetches `issuer`'s metadata from the well-known URL of `server_type` and
/// checks that the document's `issuer` is identical to `issuer` (RFC 8414 §3.3).
///
/// The result is not validated for MCP use; [`McpAuth`](crate::McpAuth)
/// does that when built (or see [`validate_server_config`](super::validate_server_config)).
pub async fn fetch_server_config(
    issuer: &str,
    server_type: AuthServerType,
    options: &FetchOptions,
) -> Result<AuthServerConfig, FetchError> {
    let url = match server_type {
        AuthServerType::OAuth => oauth_well_known_url(issuer)?,
        AuthServerType::Oidc => oidc_well_known_url(issuer)?,
    };
    let metadata = fetch_metadata(url.as_str(), Some(issuer), options).await?;
    Ok(resolved(metadata, server_type, options))
}

/// Fetches `issuer`'s metadata from an explicit URL; the document's `issuer`
/// must be `issuer` ([`AuthServerConfig::discover_at`]).
pub(crate) async fn fetch_server_config_at(
    url: &str,
    issuer: &str,
    server_type: AuthServerType,
    options: &FetchOptions,
) -> Result<AuthServerConfig, FetchError> {
    let metadata = fetch_metadata(url, Some(issuer), options).await?;
    Ok(resolved(metadata, server_type, options))
}

/// Fetches metadata from an explicit URL. No issuer equality check is possible
/// here (the caller knows no issuer); prefer [`fetch_server_config`].
pub async fn fetch_server_config_by_well_known_url(
    url: &str,
    server_type: AuthServerType,
    options: &FetchOptions,
) -> Result<AuthServerConfig, FetchError> {
    let metadata = fetch_metadata(url, None, options).await?;
    Ok(resolved(metadata, server_type, options))
}

/// Discovers `issuer` by trying [`probe_urls`] in order; the first document
/// found wins (an issuer mismatch stops the probe: it is a misconfiguration
/// or an attack, not a missing document).
pub async fn discover_server_config(
    issuer: &str,
    options: &FetchOptions,
) -> Result<AuthServerConfig, FetchError> {
    let mut attempts = Vec::new();
    for (url, server_type) in probe_urls(issuer)? {
        match fetch_metadata(url.as_str(), Some(issuer), options).await {
            Ok(metadata) => return Ok(resolved(metadata, server_type, options)),
            Err(e @ FetchError::IssuerMismatch { .. }) => return Err(e),
            Err(e) => attempts.push(e.to_string()),
        }
    }
    Err(FetchError::NotFound {
        issuer: issuer.to_owned(),
        attempts,
    })
}

fn resolved(
    metadata: AuthorizationServerMetadata,
    server_type: AuthServerType,
    options: &FetchOptions,
) -> AuthServerConfig {
    AuthServerConfig::resolved(metadata, server_type).fetch_options(options.clone())
}

fn check_issuer(expected: &str, metadata: &AuthorizationServerMetadata) -> Result<(), FetchError> {
    if metadata.issuer == expected {
        Ok(())
    } else {
        Err(FetchError::IssuerMismatch {
            expected: expected.to_owned(),
            actual: metadata.issuer.clone(),
        })
    }
}

/// Fetches one metadata document and, given the `issuer` it was fetched
/// for, checks that it names it (RFC 8414 §3.3).
async fn fetch_metadata(
    url: &str,
    issuer: Option<&str>,
    options: &FetchOptions,
) -> Result<AuthorizationServerMetadata, FetchError> {
    let started = Stopwatch::start();
    let result = async {
        let url = options.http.check_url(url)?;
        let mut body = http::get_json(&url, &options.http).await?.body;
        if let Some(transpile) = &options.transpile {
            body = transpile(body);
        }
        let metadata =
            serde_json::from_value(Value::Object(body)).map_err(|e| FetchError::Schema {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        if let Some(expected) = issuer {
            check_issuer(expected, &metadata)?;
        }
        Ok(metadata)
    }
    .await;
    metrics::fetched(FetchKind::Discovery, started, result.as_ref().err());
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls() {
        let table = [
            // issuer, oauth (insert), oidc (append)
            (
                "https://a.com",
                "https://a.com/.well-known/oauth-authorization-server",
                "https://a.com/.well-known/openid-configuration",
            ),
            (
                "https://a.com/",
                "https://a.com/.well-known/oauth-authorization-server",
                "https://a.com/.well-known/openid-configuration",
            ),
            (
                "https://a.com/path",
                "https://a.com/.well-known/oauth-authorization-server/path",
                "https://a.com/path/.well-known/openid-configuration",
            ),
            (
                "https://a.com/path/",
                "https://a.com/.well-known/oauth-authorization-server/path",
                "https://a.com/path/.well-known/openid-configuration",
            ),
            (
                "https://a.com/t/v2.0?x=1",
                "https://a.com/.well-known/oauth-authorization-server/t/v2.0?x=1",
                "https://a.com/t/v2.0/.well-known/openid-configuration?x=1",
            ),
            (
                "http://127.0.0.1:9797",
                "http://127.0.0.1:9797/.well-known/oauth-authorization-server",
                "http://127.0.0.1:9797/.well-known/openid-configuration",
            ),
        ];
        for (issuer, oauth, oidc) in table {
            assert_eq!(
                oauth_well_known_url(issuer).unwrap().as_str(),
                oauth,
                "{issuer}"
            );
            assert_eq!(
                oidc_well_known_url(issuer).unwrap().as_str(),
                oidc,
                "{issuer}"
            );
        }
    }

    #[test]
    fn probe_order() {
        let urls = |i| -> Vec<String> {
            probe_urls(i)
                .unwrap()
                .into_iter()
                .map(|(u, t)| format!("{t} {u}"))
                .collect()
        };
        assert_eq!(
            urls("https://a.com/tenant"),
            [
                "oauth https://a.com/.well-known/oauth-authorization-server/tenant",
                "oidc https://a.com/.well-known/openid-configuration/tenant",
                "oidc https://a.com/tenant/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            urls("https://a.com"),
            [
                "oauth https://a.com/.well-known/oauth-authorization-server",
                "oidc https://a.com/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn bad_issuers() {
        for issuer in ["not a url", "urn:x:y", "https://a.com/#frag", "ftp://a.com"] {
            assert!(
                matches!(
                    oauth_well_known_url(issuer),
                    Err(FetchError::InvalidUrl { .. })
                ),
                "{issuer}"
            );
        }
    }
}
