//! Build-time configuration errors.

use super::FetchError;

/// A configuration mistake, reported when [`McpAuth`](crate::McpAuth) is built.
///
/// Every variant names the offending field (or value) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A resource identifier is not acceptable (not an absolute URL, has a
    /// fragment, insecure scheme, ...).
    #[error("invalid `resource` `{resource}`: {reason}")]
    InvalidResource {
        /// The identifier as configured.
        resource: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The same resource identifier was configured twice.
    #[error("`resource` `{resource}` is configured more than once")]
    DuplicateResource {
        /// The duplicated identifier.
        resource: String,
    },
    /// The same issuer appears twice in one resource's authorization servers.
    #[error("authorization server `{issuer}` is listed more than once for resource `{resource}`")]
    DuplicateAuthServer {
        /// The resource.
        resource: String,
        /// The duplicated issuer.
        issuer: String,
    },
    /// Two issuers of one resource differ only by a trailing slash
    /// (`https://tenant.auth0.com` and `https://tenant.auth0.com/`): issuers
    /// are compared exactly, so one of them is a typo; keep the one the
    /// provider publishes in its metadata (`issuer`) and in tokens (`iss`).
    #[error(
        "authorization servers `{first}` and `{second}` of resource `{resource}` differ only by a \
         trailing slash; issuers are compared exactly: keep only the one your provider puts in `iss`"
    )]
    TrailingSlashIssuers {
        /// The resource.
        resource: String,
        /// The issuer listed first.
        first: String,
        /// The issuer listed second.
        second: String,
    },
    /// MCP requires at least one authorization server per protected resource.
    #[error(
        "resource `{resource}` has no authorization server (MCP requires at least one): add one with \
         `McpAuthBuilder::authorization_server(..)` (for every resource) or \
         `ResourceConfig::authorization_server(..)`"
    )]
    NoAuthorizationServer {
        /// The resource.
        resource: String,
    },
    /// A scope is not a valid RFC 6749 scope-token.
    #[error("invalid scope `{scope}` in `{field}` of resource `{resource}`: {reason}")]
    InvalidScope {
        /// The resource.
        resource: String,
        /// The field holding the scope (`scopes_supported`, `required_scopes`).
        field: &'static str,
        /// The scope value.
        scope: String,
        /// Why it was rejected.
        reason: String,
    },
    /// Any other invalid metadata or option field.
    #[error("invalid `{field}` for `{subject}`: {reason}")]
    InvalidField {
        /// The resource identifier or issuer the field belongs to.
        subject: String,
        /// The field name.
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// An issuer identifier is not acceptable.
    #[error("invalid issuer `{issuer}`: {reason}")]
    InvalidIssuer {
        /// The issuer as configured.
        issuer: String,
        /// Why it was rejected.
        reason: String,
    },
    /// Resolved authorization server metadata failed validation
    /// ([`validate_server_config`](crate::auth_server::validate_server_config)).
    #[error("authorization server `{issuer}` metadata is invalid: {}", codes.join(", "))]
    InvalidServerMetadata {
        /// The issuer.
        issuer: String,
        /// The validation error codes (e.g. `pkce_not_supported`).
        codes: Vec<&'static str>,
    },
    /// Two `#[protected_resource]` declarations disagree about one resource.
    #[error(
        "conflicting declarations of resource `{resource}`: `{field}` differs between {first} and {second}"
    )]
    ConflictingDeclarations {
        /// The resource.
        resource: String,
        /// The field that differs.
        field: &'static str,
        /// Location of the first declaration (`file:line (handler)`).
        first: String,
        /// Location of the second declaration.
        second: String,
    },
    /// One issuer is configured differently for two resources (only one
    /// configuration could be used).
    #[error(
        "authorization server `{issuer}` is configured differently for `{first}` and `{second}`; configure it once (e.g. `McpAuthBuilder::authorization_server`) or identically"
    )]
    ConflictingAuthServer {
        /// The issuer.
        issuer: String,
        /// The resource it was first configured for.
        first: String,
        /// The resource with the other configuration.
        second: String,
    },
    /// A route refers to a resource that is not configured.
    #[error(
        "resource `{resource}` is not configured in this `McpAuth` (configured: {}); use the \
         identifier exactly as configured, or add it with `McpAuthBuilder::resource(..)`",
        configured.join(", ")
    )]
    UnknownResource {
        /// The identifier asked for.
        resource: String,
        /// The identifiers that are configured.
        configured: Vec<String>,
    },
    /// The `jsonwebtoken` crypto backend is missing or ambiguous.
    #[error("no usable JWT crypto backend: {reason}")]
    CryptoBackend {
        /// Which features to enable.
        reason: &'static str,
    },
    /// Fetching metadata at build time failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The issuer given to a [`providers`](crate::providers) profile does not
    /// have the shape of that provider's issuers (e.g. an Auth0 issuer
    /// without its trailing `/`, an Okta org authorization server, an Entra
    /// ID `common` endpoint given to the single-tenant profile).
    #[error("invalid `issuer` `{issuer}` for `providers::{provider}`: {reason}")]
    Provider {
        /// The profile: `entra_id`, `entra_id_multi_tenant`, `cognito`,
        /// `keycloak`, `auth0`, `okta` or `logto`.
        provider: &'static str,
        /// The issuer as configured.
        issuer: String,
        /// Why it was rejected, and what to configure instead.
        reason: String,
    },
}
