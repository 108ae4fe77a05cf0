//! Protected resources: what a user configures ([`ResourceConfig`]), the
//! checks its metadata must pass, and how `#[protected_resource]`
//! declarations fold into the configured resources.

pub(crate) mod declarations;
pub(crate) mod validate;

use std::{collections::HashMap, fmt, sync::Arc};

use serde_json::Value;

use crate::{
    DpopMode, ResourceServerMetadata,
    auth_server::AuthServerConfig,
    verify::{DEFAULT_SCOPE_CLAIMS, Introspection, TokenVerifier},
};

/// How tokens for a resource are verified.
#[derive(Clone, Default)]
pub(crate) enum Verification {
    #[default]
    Jwt,
    Introspection(Introspection),
    Custom(Arc<dyn TokenVerifier>),
}

/// One protected resource: its RFC 9728 metadata, its authorization
/// servers and how its tokens are verified.
#[derive(Clone)]
pub struct ResourceConfig {
    pub(crate) metadata: ResourceServerMetadata,
    pub(crate) servers: Vec<AuthServerConfig>,
    pub(crate) extra_audiences: Vec<String>,
    /// `Some`: tokens without `aud` are accepted from these `client_id`s.
    pub(crate) accepted_client_ids: Option<Vec<String>>,
    /// Claims every token of the resource must carry with exactly this value.
    pub(crate) required_claims: Vec<(String, Value)>,
    /// Every token must carry a non-empty value of one claim of each group.
    pub(crate) required_any_claims: Vec<Vec<String>>,
    /// The claims scopes are read from.
    pub(crate) scope_claims: Vec<String>,
    pub(crate) implied_scopes: HashMap<String, Vec<String>>,
    pub(crate) verification: Verification,
    pub(crate) dpop: DpopMode,
}

impl fmt::Debug for ResourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceConfig")
            .field("metadata", &self.metadata)
            .field("servers", &self.servers)
            .field("extra_audiences", &self.extra_audiences)
            .field("accepted_client_ids", &self.accepted_client_ids)
            .field("required_claims", &self.required_claims)
            .field("required_any_claims", &self.required_any_claims)
            .field("scope_claims", &self.scope_claims)
            .finish_non_exhaustive()
    }
}

impl ResourceConfig {
    /// A resource identified by `resource` (an https URL, e.g.
    /// `https://api.example.com/mcp`), verified with JWTs by default.
    pub fn new(resource: impl Into<String>) -> Self {
        Self::from_metadata(ResourceServerMetadata::new(resource))
    }

    /// A resource with full metadata. `authorization_servers` in it is
    /// ignored: add servers with [`authorization_server`](Self::authorization_server).
    pub fn from_metadata(metadata: ResourceServerMetadata) -> Self {
        Self {
            metadata,
            servers: Vec::new(),
            extra_audiences: Vec::new(),
            accepted_client_ids: None,
            required_claims: Vec::new(),
            required_any_claims: Vec::new(),
            scope_claims: DEFAULT_SCOPE_CLAIMS.map(str::to_owned).to_vec(),
            implied_scopes: HashMap::new(),
            verification: Verification::Jwt,
            dpop: DpopMode::Off,
        }
    }

    /// Adds an authorization server trusted for this resource. Resources
    /// without any use the builder's default servers.
    pub fn authorization_server(mut self, server: AuthServerConfig) -> Self {
        self.servers.push(server);
        self
    }

    /// Sets `scopes_supported`.
    pub fn scopes_supported(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.metadata.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `resource_name`.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.metadata.resource_name = Some(name.into());
        self
    }

    /// Sets `resource_documentation`.
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.metadata.resource_documentation = Some(url.into());
        self
    }

    /// Accepts tokens whose `aud` is `audience` in addition to the resource
    /// identifier, for providers that mint their own audience strings
    /// (Auth0 API identifiers, Entra ID `api://` URIs).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.extra_audiences.push(audience.into());
        self
    }

    /// Accepts tokens that carry **no** `aud` claim when their `client_id`
    /// claim is one of `client_ids`, for providers whose access tokens have
    /// no audience (AWS Cognito: the app client ids of the user pool).
    /// Pair it with [`require_claim`](Self::require_claim) so that only
    /// access tokens pass, e.g. for Cognito:
    ///
    /// ```
    /// # use mcp_auth::ResourceConfig;
    /// let resource = ResourceConfig::new("https://api.example.com/mcp")
    ///     .accept_client_ids(["1example23456789"])
    ///     .require_claim("token_use", "access");
    /// ```
    ///
    /// A token that has an `aud` is still checked against the resource
    /// identifier and the [`audience`](Self::audience)s, whatever its
    /// `client_id` (`azp` is not a substitute). Calls add to the list; an
    /// empty list or an empty id fails `build()`. The relaxation shows in
    /// this config's `Debug` and in one `info` log line at `build()`.
    pub fn accept_client_ids(
        mut self,
        client_ids: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.accepted_client_ids
            .get_or_insert_with(Vec::new)
            .extend(client_ids.into_iter().map(Into::into));
        self
    }

    /// Requires every token of this resource (with or without `aud`) to
    /// carry the claim `name` with exactly `value` (JSON equality), e.g.
    /// `.require_claim("token_use", "access")` refuses Cognito ID tokens.
    /// Requiring the same claim twice, an empty name, or a claim the
    /// claim policy checks itself (`iss`, `aud`, `exp`, `nbf`, `iat`)
    /// fails `build()`.
    pub fn require_claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.required_claims.push((name.into(), value.into()));
        self
    }

    /// Requires every token of this resource to carry a non-empty value (not
    /// null, `""`, `[]` or `{}`) of **at least one** of `names`, e.g.
    /// `.require_any_claim(["scp", "roles"])` for Entra ID, whose access
    /// tokens always carry delegated scopes (`scp`) or app roles (`roles`)
    /// while its ID tokens carry neither. Each call adds one more such
    /// requirement. An empty list, an empty name or a name listed twice
    /// fails `build()`. Shown in `Debug` and in the `info` line at `build()`.
    pub fn require_any_claim(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.required_any_claims
            .push(names.into_iter().map(Into::into).collect());
        self
    }

    /// The claims a token's scopes are read from, in order (default
    /// `["scope", "scp"]`), replacing the list: a string value is
    /// space-delimited (RFC 9068 `scope`, Entra ID `scp`), an array holds one
    /// scope per string (Okta `scp`, Auth0 `permissions`, Entra ID `roles`).
    /// What they grant is what [`AuthInfo::scopes`](crate::AuthInfo::scopes)
    /// returns and what routes' required scopes are checked against.
    ///
    /// An empty list, an empty or repeated name, or a registered claim that
    /// means something else (`iss`, `sub`, `aud`, `exp`, `nbf`, `iat`,
    /// `jti`, `cnf`, `client_id`, `azp`) fails `build()`. Shown in `Debug`
    /// and, when not the default, in the `info` line at `build()`.
    pub fn scope_claims(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.scope_claims = names.into_iter().map(Into::into).collect();
        self
    }

    /// Declares a scope hierarchy: a token granted `broad` satisfies every
    /// scope in `implied` (transitively), e.g.
    /// `.scope_implies("notes:admin", ["notes:read", "notes:write"])`.
    /// MCP 2026-07-28 requires servers to account for such hierarchies.
    pub fn scope_implies(
        mut self,
        broad: impl Into<String>,
        implied: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.implied_scopes
            .entry(broad.into())
            .or_default()
            .extend(implied.into_iter().map(Into::into));
        self
    }

    /// Verifies opaque tokens with RFC 7662 introspection instead of JWTs.
    pub fn introspection(mut self, introspection: Introspection) -> Self {
        self.verification = Verification::Introspection(introspection);
        self
    }

    /// Whether DPoP-bound tokens (RFC 9449) are accepted (`Allowed`) or
    /// required (`Required`); default `Off`. Proofs are checked with the
    /// builder's [`DpopOptions`](crate::DpopOptions) (`McpAuthBuilder::dpop`)
    /// against the resource's public origin and the request path. The
    /// metadata then advertises `dpop_signing_alg_values_supported` (and
    /// `dpop_bound_access_tokens_required` when `Required`).
    ///
    /// In every mode, a token bound to a key (`cnf`) sent as `Bearer` is
    /// refused (`invalid_token`, RFC 9449 §7.1).
    pub fn dpop(mut self, mode: DpopMode) -> Self {
        self.dpop = mode;
        self
    }

    /// Verifies tokens with your own verifier instead of JWTs.
    pub fn verifier(mut self, verifier: impl TokenVerifier) -> Self {
        self.verification = Verification::Custom(Arc::new(verifier));
        self
    }
}

/// What a verified token and its errors need to know about their resource:
/// where clients find its metadata (so challenges point there) and its scope
/// hierarchy (so a broad scope satisfies the narrower ones it implies).
#[derive(Debug)]
pub(crate) struct ResourceContext {
    /// Absolute URL of the resource's metadata document.
    pub(crate) resource_metadata: String,
    /// Include `cause` in JSON bodies.
    pub(crate) show_error_details: bool,
    /// Scope → every scope it implies (transitively closed at build).
    pub(crate) implied_scopes: std::collections::HashMap<String, Vec<String>>,
    /// The `DPoP` challenge, when the resource accepts DPoP.
    pub(crate) dpop: Option<DpopChallenge>,
    /// The claims scopes are read from (`ResourceConfig::scope_claims`).
    pub(crate) scope_claims: Vec<String>,
    /// MCP sessions bound to their callers (shared by every resource),
    /// unless `McpAuthBuilder::session_binding(false)`.
    pub(crate) sessions: Option<Arc<crate::web::sessions::SessionBindings>>,
}

impl Default for ResourceContext {
    fn default() -> Self {
        Self {
            resource_metadata: String::new(),
            show_error_details: false,
            implied_scopes: HashMap::new(),
            dpop: None,
            scope_claims: DEFAULT_SCOPE_CLAIMS.map(str::to_owned).to_vec(),
            sessions: None,
        }
    }
}

/// What a resource's challenges say about DPoP (RFC 9449 §7.1).
#[derive(Debug)]
pub(crate) struct DpopChallenge {
    /// The `algs` parameter: the allowed proof algorithms, space-separated.
    pub(crate) algs: String,
    /// Whether `Bearer` is still offered (mode `Allowed`).
    pub(crate) bearer: bool,
    /// Server nonces (`DpopOptions::nonces`): a fresh one goes out on every
    /// successful DPoP response too (RFC 9449 §8.2).
    pub(crate) nonces: Option<crate::NonceKey>,
}

impl ResourceContext {
    /// Whether `granted` is `wanted` or implies it.
    pub(crate) fn satisfies(&self, granted: &str, wanted: &str) -> bool {
        granted == wanted
            || self
                .implied_scopes
                .get(granted)
                .is_some_and(|implied| implied.iter().any(|s| s == wanted))
    }
}
