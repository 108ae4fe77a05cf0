//! [`McpAuthBuilder`]: the configuration path. Collects resources,
//! authorization servers and options, then [`build`](McpAuthBuilder::build)
//! validates everything and creates the runtime state ([`McpAuth`]): one
//! `ProtectedResource` per resource, one `AuthServer` per issuer. Every
//! configuration mistake is reported here, never on a request.

use std::{
    collections::{HashMap, hash_map::Entry},
    sync::Arc,
};

use actix_web::{HttpRequest, web::Bytes};
use url::Url;

use mcp_auth_rules as rules;

use crate::{
    __private::{ResourceDeclaration, declarations},
    BearerAuth, DpopMode, DpopOptions, McpAuth,
    auth::Inner,
    auth_server::{AuthServer, AuthServerConfig, AuthServerSource, validate_server_config},
    error::{AuthError, ConfigError},
    metadata::{WELL_KNOWN_PREFIX, well_known_path, well_known_url},
    metrics::{CacheKind, ResourceMetrics},
    resource::{
        DpopChallenge, ResourceConfig, ResourceContext, Verification,
        declarations::merge_declarations,
        validate::{audience_policy, claim_settings, closure, parse_origin, validate_metadata},
    },
    verify::{
        ClaimPolicy, DEFAULT_SCOPE_CLAIMS, IntrospectionVerifier, JwtOptions, JwtVerifier,
        TENANT_PLACEHOLDER, TokenCache, differ_by_trailing_slash,
        resource::{Method, ProtectedResource, ResourceDpop},
    },
    web::guard::ErrorHandler,
    web::operations::OperationScopes,
    web::proxy::{ProxyPolicy, TrustedProxies},
    web::sessions::SessionBindings,
};

/// Builds an [`McpAuth`]; see [`McpAuth::builder`].
pub struct McpAuthBuilder {
    resources: Vec<ResourceConfig>,
    default_servers: Vec<AuthServerConfig>,
    jwt: JwtOptions,
    dpop: DpopOptions,
    public_origin: Option<String>,
    trusted_proxies: Option<TrustedProxies>,
    session_binding: bool,
    allow_insecure_http: bool,
    show_error_details: bool,
    legacy_server_metadata: bool,
    metadata_max_age: u32,
    error_handler: Option<ErrorHandler>,
    declarations: Vec<&'static ResourceDeclaration>,
}

impl McpAuth {
    /// Starts a configuration. Resources declared with
    /// `#[protected_resource]` anywhere in the binary are included.
    pub fn builder() -> McpAuthBuilder {
        McpAuthBuilder {
            resources: Vec::new(),
            default_servers: Vec::new(),
            jwt: JwtOptions::default(),
            dpop: DpopOptions::default(),
            public_origin: None,
            trusted_proxies: None,
            session_binding: true,
            allow_insecure_http: false,
            show_error_details: false,
            legacy_server_metadata: false,
            metadata_max_age: 3600,
            error_handler: None,
            declarations: declarations().collect(),
        }
    }
}

impl McpAuthBuilder {
    /// Adds a protected resource.
    pub fn resource(mut self, resource: ResourceConfig) -> Self {
        self.resources.push(resource);
        self
    }

    /// Adds a default authorization server, used by every resource that
    /// lists none of its own (including `#[protected_resource]` ones).
    pub fn authorization_server(mut self, server: AuthServerConfig) -> Self {
        self.default_servers.push(server);
        self
    }

    /// JWT verification settings for all resources.
    pub fn jwt_options(mut self, options: JwtOptions) -> Self {
        self.jwt = options;
        self
    }

    /// DPoP proof verification (RFC 9449), shared by every resource whose
    /// [`ResourceConfig::dpop`] is `Allowed` or `Required`: algorithms, the
    /// `iat` window, the replay store (one per `McpAuth`: the default
    /// in-memory store protects one process only; use a shared store such
    /// as `RedisReplayStore` with several replicas) and server nonces.
    pub fn dpop(mut self, options: DpopOptions) -> Self {
        self.dpop = options;
        self
    }

    /// Replaces the scheme, host and port of every resource identifier,
    /// keeping its path: `#[protected_resource(resource = "https://api.example.com/mcp")]`
    /// with `public_origin("http://127.0.0.1:8080")` serves and expects
    /// `http://127.0.0.1:8080/mcp`. For staging and tests, without recompiling.
    ///
    /// The origin may end with a path prefix, for an app behind a reverse
    /// proxy that publishes it below a path: `public_origin("https://example.com/api")`
    /// makes that resource `https://example.com/api/mcp` (the audience, the
    /// metadata's `resource`, and its document at
    /// `/.well-known/oauth-protected-resource/api/mcp`), while the app keeps
    /// its route at `/mcp` if the proxy strips `/api`; see
    /// [`trusted_proxies`](Self::trusted_proxies).
    pub fn public_origin(mut self, origin: impl Into<String>) -> Self {
        self.public_origin = Some(origin.into());
        self
    }

    /// Reads the public URL of a request (`Forwarded`, `X-Forwarded-Proto`,
    /// `-Host`, `-Prefix`) from these reverse proxies only, for allow-listed
    /// origins only (see [`TrustedProxies`]). It is used where the URL the
    /// client called matters: DPoP proofs (`htu`) behind a proxy that
    /// strips a path prefix or terminates TLS, and the self-check of the
    /// first request. Tokens' audience, the metadata and the challenges
    /// keep the configured identifiers whatever a request says.
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.trusted_proxies = Some(proxies);
        self
    }

    /// Binds each MCP session (`Mcp-Session-Id`, MCP 2025-06-18 and
    /// 2025-11-25) to the caller whose protected response opened it, so a
    /// request naming it with another principal's token is answered 404
    /// "Session not found" without reaching the handler (MCP security best
    /// practices, "Session Hijacking"). On by default; needs `.wrap(..)` or
    /// `#[protected_resource]` (they see the responses), while the
    /// extractor-only path checks bindings but cannot create them. In memory,
    /// per process: a session opened on another replica is not bound here.
    pub fn session_binding(mut self, enabled: bool) -> Self {
        self.session_binding = enabled;
        self
    }

    /// Allows plain-http resource identifiers, issuers and their endpoints
    /// (JWKS, introspection) on non-loopback hosts (never do this in
    /// production; OAuth 2.1 §1.5 requires TLS).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Adds a `cause` with internal details to JSON error bodies (debugging only).
    pub fn show_error_details(mut self, show: bool) -> Self {
        self.show_error_details = show;
        self
    }

    /// Also serves the authorization server's metadata at
    /// `/.well-known/oauth-authorization-server`, for clients of the
    /// 2025-03-26 MCP spec (deprecated there; needs exactly one server).
    pub fn legacy_authorization_server_metadata(mut self, enable: bool) -> Self {
        self.legacy_server_metadata = enable;
        self
    }

    /// `Cache-Control: max-age` of served metadata, in seconds. Default 3600.
    pub fn metadata_max_age(mut self, seconds: u32) -> Self {
        self.metadata_max_age = seconds;
        self
    }

    /// Default error rendering for every route (see [`BearerAuth::error_handler`]).
    pub fn error_handler(
        mut self,
        handler: impl Fn(AuthError, &HttpRequest) -> actix_web::Error + Send + Sync + 'static,
    ) -> Self {
        self.error_handler = Some(Arc::new(handler));
        self
    }

    /// Ignores `#[protected_resource]` declarations (e.g. to build several
    /// independent configurations in one test binary): they add no resource
    /// and get no guard, so a declared handler mounted with this `McpAuth`
    /// answers 500 (logged) without running.
    pub fn without_declared_resources(mut self) -> Self {
        self.declarations.clear();
        self
    }

    /// Validates everything and builds the configuration.
    pub fn build(mut self) -> Result<McpAuth, ConfigError> {
        if jsonwebtoken::crypto::CryptoProvider::try_get_default().is_none() {
            return Err(ConfigError::CryptoBackend {
                reason: "enable exactly one of the `aws-lc-rs` and `rust-crypto` features of mcp-auth-actix \
                         (another crate may have enabled the other jsonwebtoken backend), or call \
                         `jsonwebtoken::crypto::CryptoProvider::install_default` first",
            });
        }
        if let Some(reason) = self.jwt.key_refresh.problem() {
            return Err(ConfigError::InvalidField {
                subject: "JwtOptions".into(),
                field: "key_refresh",
                reason: reason.into(),
            });
        }
        if self.jwt.leeway > JwtOptions::MAX_LEEWAY {
            return Err(ConfigError::InvalidField {
                subject: "JwtOptions".into(),
                field: "leeway",
                reason: format!(
                    "{:?} is more than the {:?} a clock skew can justify",
                    self.jwt.leeway,
                    JwtOptions::MAX_LEEWAY
                ),
            });
        }
        if let Some(alg) = self.jwt.algorithms.iter().find(|a| {
            matches!(
                a,
                jsonwebtoken::Algorithm::HS256
                    | jsonwebtoken::Algorithm::HS384
                    | jsonwebtoken::Algorithm::HS512
            )
        }) {
            return Err(ConfigError::InvalidField {
                subject: "JwtOptions".into(),
                field: "algorithms",
                reason: format!(
                    "{alg:?} is symmetric; keys from a JWKS must never verify HMAC tokens"
                ),
            });
        }
        if let Some(reason) = self.dpop.problem() {
            return Err(ConfigError::InvalidField {
                subject: "DpopOptions".into(),
                field: "dpop",
                reason: reason.into(),
            });
        }
        let resources =
            merge_declarations(std::mem::take(&mut self.resources), &self.declarations)?;
        let origin = match &self.public_origin {
            Some(origin) => Some(parse_public_origin(origin)?),
            None => None,
        };
        let proxies = match &self.trusted_proxies {
            Some(proxies) => {
                let origins = resources
                    .iter()
                    .filter_map(|r| {
                        self.resource_url(&r.metadata.resource, origin.as_ref())
                            .ok()
                    })
                    .map(|mut url| {
                        url.set_path("");
                        url
                    });
                let policy = proxies.build(origins, self.allow_insecure_http)?;
                tracing::info!(proxies = ?proxies, "forwarding headers are read from trusted proxies only");
                Some(Arc::new(policy))
            }
            None => None,
        };
        let sessions = self.session_binding.then(Arc::default);
        let mut servers: HashMap<String, SharedServer> = HashMap::new();
        let mut built = Vec::new();
        let mut by_id = HashMap::new();
        for config in resources {
            let declared_id = config.metadata.resource.clone();
            let resource = self.build_resource(
                config,
                origin.as_ref(),
                proxies.clone(),
                sessions.clone(),
                &mut servers,
            )?;
            let resource = Arc::new(resource);
            if by_id
                .insert(resource.id.clone(), resource.clone())
                .is_some()
            {
                return Err(ConfigError::DuplicateResource {
                    resource: resource.id.clone(),
                });
            }
            by_id.entry(declared_id).or_insert_with(|| resource.clone());
            built.push(resource);
        }
        let mut by_path = HashMap::new();
        for r in &built {
            by_path.insert(r.well_known_path.clone(), r.clone());
        }
        if let [only] = built.as_slice() {
            by_path
                .entry(WELL_KNOWN_PREFIX.to_owned())
                .or_insert_with(|| only.clone());
        }
        let legacy_server = if self.legacy_server_metadata {
            let mut all: Vec<_> = servers.values().map(|s| s.server.clone()).collect();
            match (all.pop(), all.is_empty()) {
                (Some(server), true) => Some(server),
                _ => {
                    return Err(ConfigError::InvalidField {
                        subject: "McpAuth".into(),
                        field: "legacy_authorization_server_metadata",
                        reason: "the legacy endpoint needs exactly one authorization server".into(),
                    });
                }
            }
        } else {
            None
        };
        let guard =
            |r: &Arc<ProtectedResource>| BearerAuth::new(r.clone(), self.error_handler.clone());
        let single_guard = match built.as_slice() {
            [only] => Some(guard(only)),
            _ => None,
        };
        let mut declared_guards = HashMap::new();
        for &d in &self.declarations {
            let Some(resource) = by_id.get(d.resource) else {
                continue;
            };
            let declared = guard(resource)
                .required_scopes(d.required_scopes.iter().copied())
                .and_then(|g| g.operation_scopes(OperationScopes::from_declarations(d.operations)))
                .map_err(|err| ConfigError::InvalidField {
                    subject: d.resource.to_owned(),
                    field: "#[protected_resource]",
                    reason: format!("{} ({}): {err}", d.location, d.handler),
                })?;
            declared_guards.insert(std::ptr::from_ref(d) as usize, declared);
        }
        Ok(McpAuth(Arc::new(Inner {
            resources: built,
            by_path,
            by_id,
            legacy_server,
            metadata_max_age: self.metadata_max_age,
            error_handler: self.error_handler.clone(),
            single_guard,
            declared_guards,
        })))
    }

    fn build_resource(
        &self,
        config: ResourceConfig,
        origin: Option<&Url>,
        proxies: Option<Arc<ProxyPolicy>>,
        sessions: Option<Arc<SessionBindings>>,
        servers: &mut HashMap<String, SharedServer>,
    ) -> Result<ProtectedResource, ConfigError> {
        let mut metadata = config.metadata;
        let url = self.resource_url(&metadata.resource, origin)?;
        if origin.is_some() {
            metadata.resource = url.as_str().to_owned();
            if metadata.resource.ends_with('/') && !url.path().ends_with('/') {
                metadata.resource.pop();
            }
        }
        let id = metadata.resource.clone();
        validate_metadata(&id, &mut metadata, config.dpop, &self.dpop)?;

        let configs = if config.servers.is_empty() {
            &self.default_servers
        } else {
            &config.servers
        };
        if configs.is_empty() {
            return Err(ConfigError::NoAuthorizationServer { resource: id });
        }
        let mut trusted: Vec<Arc<AuthServer>> = Vec::new();
        for server in configs {
            let issuer = server.issuer();
            if trusted.iter().any(|s| s.issuer() == issuer) {
                return Err(ConfigError::DuplicateAuthServer {
                    resource: id,
                    issuer: issuer.to_owned(),
                });
            }
            if let Some(first) = trusted
                .iter()
                .find(|s| differ_by_trailing_slash(s.issuer(), issuer))
            {
                return Err(ConfigError::TrailingSlashIssuers {
                    resource: id,
                    first: first.issuer().to_owned(),
                    second: issuer.to_owned(),
                });
            }
            trusted.push(self.server(server, &id, servers)?);
        }
        metadata.authorization_servers =
            trusted.iter().map(|s| s.advertised().to_owned()).collect();

        let metadata_url = well_known_url(&url);
        let context = Arc::new(ResourceContext {
            resource_metadata: metadata_url,
            show_error_details: self.show_error_details,
            implied_scopes: closure(&id, config.implied_scopes)?,
            scope_claims: config.scope_claims.clone(),
            sessions,
            dpop: (config.dpop != DpopMode::Off).then(|| DpopChallenge {
                algs: self.dpop.algorithm_names().join(" "),
                bearer: config.dpop == DpopMode::Allowed,
                nonces: self.dpop.nonce_key().cloned(),
            }),
        });
        let dpop = (config.dpop != DpopMode::Off).then(|| {
            let mut origin = url.clone();
            origin.set_path("");
            origin.set_query(None);
            origin.set_fragment(None);
            ResourceDpop {
                mode: config.dpop,
                options: self.dpop.clone(),
                origin,
            }
        });
        let jwt = matches!(config.verification, Verification::Jwt);
        audience_policy(
            &id,
            config.accepted_client_ids.as_deref(),
            &config.required_claims,
        )?;
        claim_settings(&id, &config.scope_claims, &config.required_any_claims)?;
        let default_scope_claims = config.scope_claims == DEFAULT_SCOPE_CLAIMS;
        if !config.extra_audiences.is_empty()
            || config.accepted_client_ids.is_some()
            || !config.required_claims.is_empty()
            || !config.required_any_claims.is_empty()
            || !default_scope_claims
        {
            tracing::info!(
                resource = %id,
                extra_audiences = ?config.extra_audiences,
                client_ids_without_aud = ?config.accepted_client_ids.as_deref().unwrap_or_default(),
                required_claims = ?config.required_claims,
                required_any_claims = ?config.required_any_claims,
                scope_claims = ?config.scope_claims,
                "claim policy: `aud` must name the resource or an extra audience; tokens \
                 without `aud` are accepted only from the listed client ids; every token must \
                 carry the required claims and one claim of each required-any group; scopes \
                 are read from the scope claims"
            );
        }
        let policy = ClaimPolicy {
            issuers: trusted.iter().map(|s| s.trusted().clone()).collect(),
            audiences: std::iter::once(id.clone())
                .chain(config.extra_audiences)
                .collect(),
            client_ids_without_aud: config.accepted_client_ids.unwrap_or_default(),
            required_claims: config.required_claims,
            required_any_claims: config.required_any_claims,
            leeway: self.jwt.leeway.as_secs(),
            require_iss_exp: jwt,
            strict: jwt && self.jwt.strict_rfc9068,
        };
        let method = match config.verification {
            Verification::Jwt => Method::Jwt {
                verifier: JwtVerifier {
                    options: self.jwt.clone(),
                },
                cache: TokenCache::new(
                    CacheKind::Jwt,
                    self.jwt.cache_capacity,
                    self.jwt.cache_max_bytes,
                ),
            },
            Verification::Introspection(i) => Method::Introspection(IntrospectionVerifier::new(
                i.checked(self.allow_insecure_http, &id, configs)?,
            )),
            Verification::Custom(v) => Method::Custom(v),
        };
        let metadata_json =
            serde_json::to_vec(&metadata).map_err(|e| ConfigError::InvalidField {
                subject: id.clone(),
                field: "metadata",
                reason: e.to_string(),
            })?;
        Ok(ProtectedResource {
            scopes_supported: metadata.scopes_supported.clone(),
            path: url.path().to_owned(),
            well_known_path: well_known_path(&url),
            metadata_json: Bytes::from(metadata_json),
            context,
            servers: trusted,
            policy,
            metrics: ResourceMetrics::new(&id, method.cache_kind()),
            method,
            dpop,
            proxies,
            self_check: std::sync::Once::new(),
            id,
        })
    }

    /// Parses and checks a resource identifier (after the origin override).
    fn resource_url(&self, resource: &str, origin: Option<&Url>) -> Result<Url, ConfigError> {
        let invalid = |reason: String| ConfigError::InvalidResource {
            resource: resource.to_owned(),
            reason,
        };
        let mut url = rules::resource::identifier(resource).map_err(invalid)?;
        if let Some(origin) = origin {
            // `origin` may carry a proxy's path prefix (no trailing slash).
            let path = format!("{}{}", origin.path().trim_end_matches('/'), url.path());
            url = origin.clone();
            url.set_path(&path);
        }
        rules::resource::secure_scheme("resource", &url, self.allow_insecure_http)
            .map_err(invalid)?;
        Ok(url)
    }

    /// One runtime server per issuer, shared by every resource that trusts
    /// it; configured once (two different configurations of one issuer would
    /// leave one of them silently unused).
    fn server(
        &self,
        config: &AuthServerConfig,
        resource: &str,
        servers: &mut HashMap<String, SharedServer>,
    ) -> Result<Arc<AuthServer>, ConfigError> {
        let issuer = config.issuer();
        let invalid = |reason: &str| ConfigError::InvalidIssuer {
            issuer: issuer.to_owned(),
            reason: reason.to_owned(),
        };
        let url = Url::parse(issuer).map_err(|e| invalid(&format!("not an absolute URL ({e})")))?;
        if url.fragment().is_some() || url.query().is_some() {
            return Err(invalid("an issuer has no query or fragment (RFC 8414 §2)"));
        }
        if url.path().contains("/.well-known/") {
            return Err(invalid("this is a metadata URL, not an issuer identifier"));
        }
        rules::resource::secure_scheme("issuer", &url, self.allow_insecure_http)
            .map_err(|reason| invalid(&reason))?;
        if let AuthServerSource::Discovery {
            metadata_url: Some(metadata_url),
            ..
        } = &config.source
        {
            let url = rules::resource::http_url("metadata_url", metadata_url)
                .map_err(|reason| invalid(&reason))?;
            rules::resource::secure_scheme("metadata_url", &url, self.allow_insecure_http)
                .map_err(|reason| invalid(&reason))?;
        }
        check_tenants(config)?;
        if let AuthServerSource::Resolved { metadata, .. } = &config.source {
            let result = validate_server_config(metadata, false);
            if !result.is_valid() {
                return Err(ConfigError::InvalidServerMetadata {
                    issuer: issuer.to_owned(),
                    codes: result.errors.iter().map(|c| c.as_str()).collect(),
                });
            }
            for warning in &result.warnings {
                tracing::warn!(issuer, code = warning.as_str(), "{}", warning.description());
            }
        }
        match servers.entry(issuer.to_owned()) {
            Entry::Occupied(e) if e.get().config.same_as(config) => Ok(e.get().server.clone()),
            Entry::Occupied(e) => Err(ConfigError::ConflictingAuthServer {
                issuer: issuer.to_owned(),
                first: e.get().resource.clone(),
                second: resource.to_owned(),
            }),
            Entry::Vacant(e) => {
                if let Some(tenants) = &config.tenants {
                    tracing::info!(
                        issuer,
                        tenants = ?tenants,
                        "multi-tenant issuer: a token's `iss` must be the template with its own `tid`, \
                         and `tid` one of the allowed tenants"
                    );
                }
                let mut runtime = config.clone();
                if self.allow_insecure_http {
                    runtime.fetch.http = runtime.fetch.http.clone().allow_insecure_http(true);
                }
                let server = AuthServer::new(&runtime, self.jwt.key_refresh.clone())?;
                e.insert(SharedServer {
                    server: server.clone(),
                    config: config.clone(),
                    resource: resource.to_owned(),
                });
                Ok(server)
            }
        }
    }
}

/// A multi-tenant issuer template (`{tenantid}`) needs an allow-list of
/// tenant ids and resolved metadata; an allow-list needs a template.
fn check_tenants(config: &AuthServerConfig) -> Result<(), ConfigError> {
    let issuer = config.issuer();
    let invalid = |reason: String| ConfigError::InvalidField {
        subject: issuer.to_owned(),
        field: "allowed_tenants",
        reason,
    };
    let template = issuer.contains(TENANT_PLACEHOLDER);
    match (&config.tenants, template) {
        (None, false) => Ok(()),
        (None, true) => Err(invalid(format!(
            "the issuer is a multi-tenant template (`{TENANT_PLACEHOLDER}`): list the tenants \
             whose tokens are accepted with `AuthServerConfig::allowed_tenants([..])`"
        ))),
        (Some(_), false) => Err(invalid(format!(
            "only an issuer template holding `{TENANT_PLACEHOLDER}` has tenants; for one \
             tenant, configure its own issuer"
        ))),
        (Some(tenants), true) => {
            if issuer.matches(TENANT_PLACEHOLDER).count() > 1 {
                return Err(invalid(format!(
                    "the issuer holds `{TENANT_PLACEHOLDER}` more than once"
                )));
            }
            if matches!(config.source, AuthServerSource::Discovery { .. }) {
                return Err(invalid(
                    "a template issuer cannot be discovered: fetch the provider's metadata \
                     (`fetch_server_config_by_well_known_url`) and use `AuthServerConfig::resolved`"
                        .into(),
                ));
            }
            if tenants.is_empty() {
                return Err(invalid(
                    "the allow-list is empty: it would accept nothing".into(),
                ));
            }
            if let Some(bad) = tenants.iter().find(|t| {
                t.is_empty() || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }) {
                return Err(invalid(format!(
                    "`{bad}` is not a tenant id (ASCII letters, digits and `-`)"
                )));
            }
            Ok(())
        }
    }
}

/// An authorization server shared by resources, with the configuration and
/// the resource it was first configured for.
struct SharedServer {
    server: Arc<AuthServer>,
    config: AuthServerConfig,
    resource: String,
}

#[cfg(test)]
mod tests;

/// `public_origin`: `scheme://host[:port]`, optionally followed by the path
/// prefix a reverse proxy publishes the app under (kept without a trailing
/// slash).
fn parse_public_origin(value: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: &str| ConfigError::InvalidField {
        subject: "McpAuth".into(),
        field: "public_origin",
        reason: reason.into(),
    };
    let url = Url::parse(value).map_err(|e| invalid(&e.to_string()))?;
    if url.cannot_be_a_base() || !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must be scheme://host[:port][/prefix]"));
    }
    let prefix = url.path().trim_end_matches('/');
    if prefix.split('/').skip(1).any(str::is_empty) {
        return Err(invalid("the path prefix has an empty segment"));
    }
    let mut origin = url.clone();
    origin.set_path("");
    let mut origin = parse_origin(origin.as_str())?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "must be scheme://host[:port][/prefix] without query or fragment",
        ));
    }
    origin.set_path(prefix);
    Ok(origin)
}
