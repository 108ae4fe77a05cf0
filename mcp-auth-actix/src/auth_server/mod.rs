//! Authorization servers: their configuration ([`AuthServerConfig`]), RFC
//! 8414 metadata types, discovery ([`fetch_server_config`] and friends),
//! validation ([`validate_server_config`]), and at run time (`runtime.rs`)
//! one shared server per issuer with its lazily discovered metadata and its
//! JWKS cache.

mod discovery;
mod runtime;
mod validate;

use std::{fmt, sync::Arc};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use discovery::{
    FetchOptions, Transpile, discover_server_config, fetch_server_config,
    fetch_server_config_by_well_known_url, oauth_well_known_url, oidc_well_known_url, probe_urls,
};
pub(crate) use runtime::{AuthServer, FLIGHT_SLACK};
pub use validate::{ValidationCode, ValidationResult, validate_server_config};

/// Which discovery document an authorization server publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthServerType {
    /// RFC 8414 `/.well-known/oauth-authorization-server` (path insertion).
    OAuth,
    /// OpenID Connect Discovery `/.well-known/openid-configuration` (path append).
    Oidc,
}

impl fmt::Display for AuthServerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::OAuth => "oauth",
            Self::Oidc => "oidc",
        })
    }
}

impl std::str::FromStr for AuthServerType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "oauth" => Ok(Self::OAuth),
            "oidc" => Ok(Self::Oidc),
            _ => Err(format!(
                "unknown authorization server type `{s}` (expected `oauth` or `oidc`)"
            )),
        }
    }
}

/// OAuth 2.0 Authorization Server Metadata (RFC 8414 §2), as the reference
/// `mcp-auth` library models it. Members this type does not name are kept in
/// [`extra`](Self::extra) and written back when serialized.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier (https URL, no query or fragment).
    pub issuer: String,
    /// Authorization endpoint URL.
    pub authorization_endpoint: String,
    /// Token endpoint URL.
    pub token_endpoint: String,
    /// Supported `response_type` values.
    pub response_types_supported: Vec<String>,
    /// URL of the JWK Set used to verify JWT access tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Dynamic Client Registration endpoint (RFC 7591).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// Supported scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// Supported `response_mode` values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_modes_supported: Option<Vec<String>>,
    /// Supported grant types (default when absent: `authorization_code`, `implicit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    /// Client authentication methods at the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// JWS algorithms for `private_key_jwt`/`client_secret_jwt` at the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    /// Human-readable documentation URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_documentation: Option<String>,
    /// Supported UI locales.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ui_locales_supported: Option<Vec<String>>,
    /// Policy URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_policy_uri: Option<String>,
    /// Terms of service URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_tos_uri: Option<String>,
    /// Revocation endpoint (RFC 7009).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    /// Client authentication methods at the revocation endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// JWS algorithms for client authentication at the revocation endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    /// Introspection endpoint (RFC 7662).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<String>,
    /// Client authentication methods at the introspection endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// JWS algorithms for client authentication at the introspection endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    /// PKCE code challenge methods (RFC 7636).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// OIDC UserInfo endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
    /// Every other member, preserved as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AuthorizationServerMetadata {
    /// Metadata with the four members RFC 8414 (and the reference) require;
    /// set the others with struct update syntax or field assignment.
    pub fn new(
        issuer: impl Into<String>,
        authorization_endpoint: impl Into<String>,
        token_endpoint: impl Into<String>,
        response_types_supported: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            authorization_endpoint: authorization_endpoint.into(),
            token_endpoint: token_endpoint.into(),
            response_types_supported: response_types_supported
                .into_iter()
                .map(Into::into)
                .collect(),
            ..Self::default()
        }
    }
}

/// How one authorization server is configured: with metadata in hand
/// (no network), or by issuer, discovered lazily on first use.
///
/// Mirrors the reference's `ResolvedAuthServerConfig | AuthServerDiscoveryConfig`.
#[derive(Clone)]
pub struct AuthServerConfig {
    pub(crate) source: AuthServerSource,
    pub(crate) fetch: FetchOptions,
    /// `Some`: the issuer is a multi-tenant template (`{tenantid}`).
    pub(crate) tenants: Option<Vec<String>>,
    /// `Some`: written into the resource metadata's `authorization_servers`
    /// instead of the issuer.
    pub(crate) advertise_as: Option<String>,
    /// The provider profile that made this configuration (its issuer shape
    /// is checked at build).
    pub(crate) provider: Option<crate::providers::Provider>,
}

impl AuthServerConfig {
    /// Whether two configurations would behave the same (a transpile hook
    /// is the same only if it is the same closure).
    pub(crate) fn same_as(&self, other: &Self) -> bool {
        let source = match (&self.source, &other.source) {
            (
                AuthServerSource::Resolved {
                    metadata: a,
                    server_type: ta,
                },
                AuthServerSource::Resolved {
                    metadata: b,
                    server_type: tb,
                },
            ) => a == b && ta == tb,
            (
                AuthServerSource::Discovery {
                    issuer: a,
                    server_type: ta,
                    metadata_url: ua,
                },
                AuthServerSource::Discovery {
                    issuer: b,
                    server_type: tb,
                    metadata_url: ub,
                },
            ) => a == b && ta == tb && ua == ub,
            _ => false,
        };
        source
            && self.fetch.same_as(&other.fetch)
            && self.tenants == other.tenants
            && self.advertise_as == other.advertise_as
            && self.provider == other.provider
    }
}

#[derive(Clone)]
pub(crate) enum AuthServerSource {
    Resolved {
        metadata: Arc<AuthorizationServerMetadata>,
        server_type: AuthServerType,
    },
    Discovery {
        issuer: String,
        server_type: Option<AuthServerType>,
        /// `Some`: fetched from this URL, not from the issuer's well-known URL.
        metadata_url: Option<String>,
    },
}

impl AuthServerConfig {
    /// A server whose metadata you already have (built by hand or fetched
    /// with [`fetch_server_config`]). It is validated when `McpAuth` is built.
    pub fn resolved(metadata: AuthorizationServerMetadata, server_type: AuthServerType) -> Self {
        Self {
            source: AuthServerSource::Resolved {
                metadata: Arc::new(metadata),
                server_type,
            },
            fetch: FetchOptions::default(),
            tenants: None,
            advertise_as: None,
            provider: None,
        }
    }

    /// A server fetched from the well-known URL of `server_type` on first use
    /// (concurrent first uses share one fetch; failures are retried later).
    pub fn discover_as(issuer: impl Into<String>, server_type: AuthServerType) -> Self {
        Self {
            source: AuthServerSource::Discovery {
                issuer: issuer.into(),
                server_type: Some(server_type),
                metadata_url: None,
            },
            fetch: FetchOptions::default(),
            tenants: None,
            advertise_as: None,
            provider: None,
        }
    }

    /// A server fetched on first use from whichever well-known URL answers
    /// first in the MCP order (RFC 8414 path insertion, OIDC path insertion,
    /// OIDC append). Use [`discover_as`](Self::discover_as) when you know the type.
    pub fn discover(issuer: impl Into<String>) -> Self {
        Self {
            source: AuthServerSource::Discovery {
                issuer: issuer.into(),
                server_type: None,
                metadata_url: None,
            },
            fetch: FetchOptions::default(),
            tenants: None,
            advertise_as: None,
            provider: None,
        }
    }

    /// A server fetched on first use from `metadata_url`, for providers whose
    /// document is not at the well-known URL its issuer implies: Entra ID's
    /// v1 issuer `https://sts.windows.net/<tenant>/` publishes it at
    /// `https://login.microsoftonline.com/<tenant>/.well-known/openid-configuration`.
    /// The document's `issuer` must still be `issuer` (RFC 8414 §3.3), or
    /// discovery fails. `metadata_url` is checked at `build()` like the
    /// issuer (absolute http(s) URL, https unless loopback).
    pub fn discover_at(
        issuer: impl Into<String>,
        metadata_url: impl Into<String>,
        server_type: AuthServerType,
    ) -> Self {
        Self {
            source: AuthServerSource::Discovery {
                issuer: issuer.into(),
                server_type: Some(server_type),
                metadata_url: Some(metadata_url.into()),
            },
            ..Self::discover("")
        }
    }

    /// Fetch options (timeouts, transpile hook) for lazy discovery and JWKS.
    pub fn fetch_options(mut self, fetch: FetchOptions) -> Self {
        self.fetch = fetch;
        self
    }

    /// Makes this a **multi-tenant** server (Entra ID `common`,
    /// `organizations`): its metadata `issuer` is a template holding the
    /// literal `{tenantid}` (e.g. `https://login.microsoftonline.com/{tenantid}/v2.0`).
    /// A token is accepted only when its `tid` claim is one of `tenant_ids`
    /// and its `iss` is the template with that same `tid` substituted; keys
    /// come from the template metadata's one `jwks_uri`.
    ///
    /// Use it with [`resolved`](Self::resolved) metadata (fetch it with
    /// [`fetch_server_config_by_well_known_url`], e.g. from
    /// `https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration`):
    /// a template cannot be discovered. Calls add to the list; `build()`
    /// fails when the issuer holds no `{tenantid}`, when it holds one and no
    /// tenant is allowed, or when a tenant id is empty or has characters
    /// other than ASCII letters, digits and `-`.
    pub fn allowed_tenants(
        mut self,
        tenant_ids: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.tenants
            .get_or_insert_with(Vec::new)
            .extend(tenant_ids.into_iter().map(Into::into));
        self
    }

    /// Advertises this server as `url` in the `authorization_servers` of
    /// the resource metadata (RFC 9728 §2) instead of its issuer, for an
    /// issuer clients cannot discover: an Entra ID multi-tenant template
    /// (`https://login.microsoftonline.com/{tenantid}/v2.0`) is advertised
    /// as e.g. `https://login.microsoftonline.com/organizations/v2.0`, whose
    /// discovery document clients can fetch. Tokens are still checked
    /// against the issuer (or template) only.
    ///
    /// Clients that enforce RFC 8414 §3.3 (the fetched metadata's `issuer`
    /// must equal the advertised identifier) still refuse such a server:
    /// Entra's multi-tenant metadata names the template as its issuer.
    /// `url` must be an absolute http(s) URL without query or fragment
    /// (https unless loopback or `allow_insecure_http`); `build()` checks it.
    /// Shown in `Debug`. Without it, a `{tenantid}` template is advertised
    /// as-is and `build()` logs a warning.
    pub fn advertise_as(mut self, url: impl Into<String>) -> Self {
        self.advertise_as = Some(url.into());
        self
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        match &self.source {
            AuthServerSource::Resolved { metadata, .. } => &metadata.issuer,
            AuthServerSource::Discovery { issuer, .. } => issuer,
        }
    }

    /// The resolved metadata, if this is not a discovery config.
    pub fn metadata(&self) -> Option<&AuthorizationServerMetadata> {
        match &self.source {
            AuthServerSource::Resolved { metadata, .. } => Some(metadata),
            AuthServerSource::Discovery { .. } => None,
        }
    }

    /// The server type, if known.
    pub fn server_type(&self) -> Option<AuthServerType> {
        match &self.source {
            AuthServerSource::Resolved { server_type, .. } => Some(*server_type),
            AuthServerSource::Discovery { server_type, .. } => *server_type,
        }
    }
}

impl fmt::Debug for AuthServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthServerConfig")
            .field("issuer", &self.issuer())
            .field("type", &self.server_type())
            .field("resolved", &self.metadata().is_some())
            .field(
                "metadata_url",
                match &self.source {
                    AuthServerSource::Discovery { metadata_url, .. } => metadata_url,
                    AuthServerSource::Resolved { .. } => &None::<String>,
                },
            )
            .field("allowed_tenants", &self.tenants)
            .field("advertise_as", &self.advertise_as)
            .field("provider", &self.provider.map(|p| p.name()))
            .finish()
    }
}
