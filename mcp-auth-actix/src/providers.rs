//! Provider profiles: one plain constructor per identity provider, returning
//! an ordinary [`ResourceConfig`] for your resource, preconfigured with the
//! provider's authorization server and the claim conventions of its access
//! tokens. Keep chaining `ResourceConfig` methods (`.audience(..)`,
//! `.scopes_supported(..)`, …); nothing else is hidden.
//!
//! Each function takes the issuer **exactly as the provider spells it**
//! (copy `issuer` from its discovery document or console). `build()` checks
//! it has the provider's shape and fails with [`ConfigError::Provider`]
//! (naming the issuer and the reason) otherwise; the server is discovered
//! with OpenID Connect discovery (`{issuer}/.well-known/openid-configuration`)
//! on first use.
//!
//! | profile | issuer | what it configures |
//! |---|---|---|
//! | [`entra_id`] | `https://login.microsoftonline.com/<tenant id>/v2.0` (v2 tokens) or `https://sts.windows.net/<tenant id>/` (v1 tokens) | scopes from `scp` and app roles from `roles`; every token must carry `scp` or `roles` (refuses ID tokens) |
//! | [`entra_id_multi_tenant`] | the multi-tenant metadata (issuer `…/{tenantid}/v2.0`) | as `entra_id`, plus the tenant allow-list and the identifier advertised to clients |
//! | [`cognito`] | `https://cognito-idp.<region>.amazonaws.com/<region>_<id>` | tokens without `aud` accepted from the app clients; `token_use` must be `access`; scopes from `scope` |
//! | [`keycloak`] | `https://<host>[/auth]/realms/<realm>` | the `typ` claim must be `Bearer` (refuses ID and refresh tokens); scopes from `scope` |
//! | [`auth0`] | `https://<tenant>.<region>.auth0.com/` (with the `/`) or your custom domain | scopes from `scope` and `permissions` (RBAC) |
//! | [`okta`] | `https://<org>.okta.com/oauth2/<authorization server id>` (e.g. `default`) | scopes from `scp`; the client from `cid`; a token of the org authorization server is refused with an explanation |
//! | [`logto`] | `https://<tenant>.logto.app/oidc` or `https://<custom domain>/oidc` | scopes from `scope` |
//!
//! ```
//! use mcp_auth::{McpAuth, providers};
//! let resource = providers::auth0("https://notes.example.com/mcp", "https://my-tenant.us.auth0.com/")
//!     .scopes_supported(["read:notes", "write:notes"]);
//! let auth = McpAuth::builder()
//!     .without_declared_resources()
//!     .resource(resource)
//!     .build()
//!     .unwrap();
//! ```
//!
//! What to set up on the provider's side (audiences, RBAC toggles, token
//! versions) is described in `docs/providers.md`.
//!
//! Entra ID and Cognito support PKCE with `S256` but do not list
//! `code_challenge_methods_supported` in their metadata: their profiles add
//! `["S256"]` when the member is absent, so the metadata passes validation.

use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};
use url::Url;

use crate::{
    AuthorizationServerMetadata, ResourceConfig,
    auth_server::{AuthServerConfig, AuthServerType, FetchOptions, Transpile},
    verify::{IssuerHint, TENANT_PLACEHOLDER},
};

#[cfg(doc)]
use crate::ConfigError;

/// Which profile made an [`AuthServerConfig`]; `build()` checks the issuer's
/// shape with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Provider {
    EntraId,
    EntraIdMultiTenant,
    Cognito,
    Keycloak,
    Auth0,
    Okta,
    Logto,
}

/// The claims Entra ID grants permissions in: delegated scopes and app roles.
const ENTRA_CLAIMS: [&str; 2] = ["scp", "roles"];

/// Entra ID tenants that are multi-tenant endpoints, not tenants.
const ENTRA_MULTI_TENANT: [&str; 3] = ["common", "organizations", "consumers"];

/// A resource protected by a **single-tenant** Microsoft Entra ID app.
///
/// `issuer` is the tenant's issuer as its tokens carry it:
/// `https://login.microsoftonline.com/<tenant id>/v2.0` for v2 access
/// tokens (`requestedAccessTokenVersion: 2` in the app manifest), or
/// `https://sts.windows.net/<tenant id>/` for v1 tokens (the default when
/// the manifest says `null` or `1`). The tenant is its id (a GUID); `common`,
/// `organizations` and `consumers` are multi-tenant endpoints: use
/// [`entra_id_multi_tenant`].
///
/// Scopes are read from `scp` (delegated permissions) and `roles` (app
/// roles: client-credentials tokens carry `roles`, not `scp`), and every
/// token must carry one of them, as Microsoft advises: this refuses an
/// Entra **ID token** presented as an access token even when its `aud`
/// (the client id) is an accepted audience. `aud` of a v2 token is the
/// app's client id, of a v1 token its application ID URI: add it with
/// `.audience(..)`. A token whose `iss` is the v1 form of a configured v2
/// issuer is refused with a hint about `requestedAccessTokenVersion`.
///
/// ```
/// use mcp_auth::providers;
/// let resource = providers::entra_id(
///     "https://api.example.com/mcp",
///     "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
/// )
/// .audience("6e0c3d3a-1111-2222-3333-444455556666")
/// .scopes_supported(["Tasks.Read", "Tasks.Write"]);
/// ```
pub fn entra_id(resource: impl Into<String>, issuer: impl Into<String>) -> ResourceConfig {
    let issuer = issuer.into();
    let server = match entra_v1_authority(&issuer) {
        Some((metadata_url, advertised)) => tagged(
            AuthServerConfig::discover_at(issuer, metadata_url, AuthServerType::Oidc),
            Provider::EntraId,
        )
        .advertise_as(advertised),
        None => discovered(issuer, Provider::EntraId),
    };
    ResourceConfig::new(resource)
        .authorization_server(server.fetch_options(fill_s256()))
        .scope_claims(ENTRA_CLAIMS)
        .require_any_claim(ENTRA_CLAIMS)
}

/// A resource protected by a **multi-tenant** Microsoft Entra ID app,
/// accepting tokens of the tenants in `tenant_ids` only.
///
/// `metadata` is Entra's multi-tenant metadata, whose `issuer` is the
/// template `https://login.microsoftonline.com/{tenantid}/v2.0`: fetch it
/// with [`fetch_server_config_by_well_known_url`](crate::auth_server::fetch_server_config_by_well_known_url)
/// from `https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration`
/// (a template cannot be discovered). A token is accepted only when its
/// `tid` is listed and its `iss` is the template with that same `tid`
/// ([`AuthServerConfig::allowed_tenants`]). Scopes and the `scp`/`roles`
/// requirement are those of [`entra_id`].
///
/// `advertise_as` is what the resource metadata lists in
/// `authorization_servers` ([`AuthServerConfig::advertise_as`]): the
/// template itself is discoverable by no client, so pass the endpoint your
/// users sign in with, e.g. `https://login.microsoftonline.com/organizations/v2.0`
/// (work and school accounts) or `…/common/v2.0` (also personal accounts).
/// The profile does not guess it. Clients that enforce RFC 8414 §3.3 (the
/// fetched metadata's `issuer` must equal the advertised identifier) still
/// refuse Entra's multi-tenant metadata, whose `issuer` is the template:
/// such clients need a single-tenant app ([`entra_id`]).
pub fn entra_id_multi_tenant(
    resource: impl Into<String>,
    mut metadata: AuthorizationServerMetadata,
    tenant_ids: impl IntoIterator<Item = impl Into<String>>,
    advertise_as: impl Into<String>,
) -> ResourceConfig {
    if metadata.code_challenge_methods_supported.is_none() {
        metadata.code_challenge_methods_supported = Some(vec!["S256".into()]);
    }
    let server = AuthServerConfig::resolved(metadata, AuthServerType::Oidc)
        .allowed_tenants(tenant_ids)
        .advertise_as(advertise_as);
    ResourceConfig::new(resource)
        .authorization_server(tagged(server, Provider::EntraIdMultiTenant))
        .scope_claims(ENTRA_CLAIMS)
        .require_any_claim(ENTRA_CLAIMS)
}

/// A resource protected by an AWS Cognito user pool.
///
/// `issuer` is `https://cognito-idp.<region>.amazonaws.com/<user pool id>`
/// (the pool id is `<region>_<id>`). Cognito access tokens carry no `aud`:
/// they are accepted when their `client_id` is one of `app_client_ids`
/// ([`ResourceConfig::accept_client_ids`]), and every token must carry
/// `token_use: access` ([`ResourceConfig::require_claim`]), which refuses
/// ID tokens. Scopes (`<resource server id>/<scope>`) are read from `scope`.
///
/// ```
/// use mcp_auth::providers;
/// let resource = providers::cognito(
///     "https://api.example.com/mcp",
///     "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123",
///     ["1example23456789"],
/// )
/// .scopes_supported(["notes/read", "notes/write"]);
/// ```
pub fn cognito(
    resource: impl Into<String>,
    issuer: impl Into<String>,
    app_client_ids: impl IntoIterator<Item = impl Into<String>>,
) -> ResourceConfig {
    ResourceConfig::new(resource)
        .authorization_server(discovered(issuer, Provider::Cognito).fetch_options(fill_s256()))
        .accept_client_ids(app_client_ids)
        .require_claim("token_use", "access")
        .scope_claims(["scope"])
}

/// A resource protected by a Keycloak realm.
///
/// `issuer` is `https://<host>/realms/<realm>` (`https://<host>/auth/realms/<realm>`
/// on Keycloak before 17). Keycloak access tokens carry the claim
/// `typ: "Bearer"` (ID tokens `"ID"`, refresh tokens `"Refresh"`): it is
/// required. Scopes are read from `scope`; the client is `azp`
/// ([`AuthInfo::client_id`](crate::AuthInfo::client_id)). Keycloak's
/// default `aud` is `account`: add an "Audience" mapper with your MCP URL
/// to the client scope your clients request.
pub fn keycloak(resource: impl Into<String>, issuer: impl Into<String>) -> ResourceConfig {
    ResourceConfig::new(resource)
        .authorization_server(discovered(issuer, Provider::Keycloak))
        .require_claim("typ", "Bearer")
        .scope_claims(["scope"])
}

/// A resource protected by an Auth0 tenant.
///
/// `issuer` is the tenant's origin **with its trailing `/`**, exactly as in
/// `iss`: `https://<tenant>.<region>.auth0.com/` or your custom domain
/// (`https://login.example.com/`); without the `/`, `build()` fails and
/// says what was meant. Scopes are read from `scope` and `permissions`
/// (RBAC with "Add Permissions in the Access Token"). `aud` is the API
/// identifier: use it as the resource, or add it with `.audience(..)`.
pub fn auth0(resource: impl Into<String>, issuer: impl Into<String>) -> ResourceConfig {
    ResourceConfig::new(resource)
        .authorization_server(discovered(issuer, Provider::Auth0))
        .scope_claims(["scope", "permissions"])
}

/// A resource protected by an Okta **custom authorization server**.
///
/// `issuer` is `https://<org>.okta.com/oauth2/<authorization server id>`
/// (`…/oauth2/default` for the default one). The org authorization server
/// (`https://<org>.okta.com`, no path) is refused by `build()`: its access
/// tokens are for Okta's own APIs and cannot be verified by a resource
/// server. A token issued by the org authorization server of the configured
/// issuer is refused (`invalid_token`) with that explanation. Scopes are
/// read from `scp`; the client is `cid`. `aud` is the authorization
/// server's audience (`api://default` for the default one): add it with
/// `.audience(..)` unless it is your resource identifier.
pub fn okta(resource: impl Into<String>, issuer: impl Into<String>) -> ResourceConfig {
    ResourceConfig::new(resource)
        .authorization_server(discovered(issuer, Provider::Okta))
        .scope_claims(["scp"])
}

/// A resource protected by Logto.
///
/// `issuer` is `https://<tenant>.logto.app/oidc` (or `https://<custom
/// domain>/oidc`). `aud` is the API resource indicator: register your MCP
/// URL as the API identifier. Scopes are read from `scope`.
pub fn logto(resource: impl Into<String>, issuer: impl Into<String>) -> ResourceConfig {
    ResourceConfig::new(resource)
        .authorization_server(discovered(issuer, Provider::Logto))
        .scope_claims(["scope"])
}

fn tagged(mut server: AuthServerConfig, provider: Provider) -> AuthServerConfig {
    server.provider = Some(provider);
    server
}

fn discovered(issuer: impl Into<String>, provider: Provider) -> AuthServerConfig {
    tagged(
        AuthServerConfig::discover_as(issuer, AuthServerType::Oidc),
        provider,
    )
}

/// Fetch options whose transpile hook adds `code_challenge_methods_supported:
/// ["S256"]` when the metadata lacks it. One shared hook, so two resources
/// configured with one profile share the same server configuration.
fn fill_s256() -> FetchOptions {
    static HOOK: OnceLock<Transpile> = OnceLock::new();
    let hook = HOOK.get_or_init(|| Arc::new(add_s256)).clone();
    FetchOptions {
        transpile: Some(hook),
        ..FetchOptions::default()
    }
}

fn add_s256(mut metadata: Map<String, Value>) -> Map<String, Value> {
    if metadata
        .get("code_challenge_methods_supported")
        .is_none_or(Value::is_null)
    {
        metadata.insert(
            "code_challenge_methods_supported".into(),
            Value::Array(vec!["S256".into()]),
        );
    }
    metadata
}

/// `scheme://authority` and the path of an issuer, as written (the `url`
/// crate would percent-encode `{tenantid}`).
fn split(issuer: &str) -> Option<(&str, &str)> {
    let start = issuer.find("://")? + 3;
    let end = issuer[start..]
        .find('/')
        .map_or(issuer.len(), |i| start + i);
    Some(issuer.split_at(end))
}

fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_segment(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

impl Provider {
    /// The profile's function name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::EntraId => "entra_id",
            Self::EntraIdMultiTenant => "entra_id_multi_tenant",
            Self::Cognito => "cognito",
            Self::Keycloak => "keycloak",
            Self::Auth0 => "auth0",
            Self::Okta => "okta",
            Self::Logto => "logto",
        }
    }

    /// Whether `issuer` has this provider's shape; the reason and what to
    /// configure instead when not.
    pub(crate) fn check(self, issuer: &str) -> Result<(), String> {
        let url = Url::parse(issuer).map_err(|e| format!("not an absolute URL ({e})"))?;
        let (origin, path) = split(issuer).ok_or("not an absolute URL")?;
        match self {
            Self::EntraId => check_entra(path),
            Self::EntraIdMultiTenant => {
                if path == format!("/{TENANT_PLACEHOLDER}/v2.0")
                    || path == format!("/{TENANT_PLACEHOLDER}/")
                {
                    Ok(())
                } else {
                    Err(format!(
                        "the multi-tenant profile needs Entra ID's multi-tenant metadata, whose \
                         issuer is the template `https://login.microsoftonline.com/{TENANT_PLACEHOLDER}/v2.0` \
                         (fetched from `https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration`); \
                         for one tenant, use `providers::entra_id`"
                    ))
                }
            }
            Self::Cognito => check_cognito(&url, path),
            Self::Keycloak => {
                let trimmed = path.trim_end_matches('/');
                let realm = trimmed
                    .rsplit_once('/')
                    .filter(|(base, realm)| base.ends_with("/realms") && is_segment(realm));
                match realm {
                    Some(_) if trimmed == path => Ok(()),
                    Some(_) => Err(format!(
                        "a Keycloak issuer has no trailing slash; did you mean `{origin}{trimmed}`?"
                    )),
                    None => Err("a Keycloak issuer is `https://<host>/realms/<realm>` (or \
                         `https://<host>/auth/realms/<realm>` before Keycloak 17): copy `issuer` \
                         from the realm's `.well-known/openid-configuration`"
                        .into()),
                }
            }
            Self::Auth0 => {
                if !issuer.ends_with('/') {
                    return Err(format!(
                        "an Auth0 issuer ends with `/` (tokens' `iss` is compared exactly); \
                         did you mean `{issuer}/`?"
                    ));
                }
                if path == "/" {
                    Ok(())
                } else {
                    Err(format!(
                        "an Auth0 issuer is the tenant's origin with a `/` (`https://<tenant>.<region>.auth0.com/` \
                         or your custom domain), not a URL with a path; did you mean `{origin}/`? \
                         (the API identifier goes in `.audience(..)` or is the resource)"
                    ))
                }
            }
            Self::Okta => check_okta(origin, path),
            Self::Logto => {
                if path.ends_with("/oidc") {
                    Ok(())
                } else if path.trim_end_matches('/').ends_with("/oidc") {
                    Err(format!(
                        "a Logto issuer has no trailing slash; did you mean `{}`?",
                        issuer.trim_end_matches('/')
                    ))
                } else {
                    Err(format!(
                        "a Logto issuer ends with `/oidc` (`https://<tenant>.logto.app/oidc` or \
                         `https://<custom domain>/oidc`); did you mean `{}/oidc`?",
                        issuer.trim_end_matches('/')
                    ))
                }
            }
        }
    }

    /// The issuers a token may carry by a known configuration mistake for
    /// `issuer` (checked by [`check`](Self::check)), with their explanation.
    pub(crate) fn hints(self, issuer: &str) -> Vec<IssuerHint> {
        let Some((origin, path)) = split(issuer) else {
            return Vec::new();
        };
        match self {
            Self::Okta => vec![IssuerHint {
                iss: origin.to_owned(),
                description: format!(
                    "The token was issued by the Okta org authorization server of `{issuer}`: its \
                     access tokens are for Okta's own APIs and cannot be verified by a resource \
                     server. Request tokens from the custom authorization server `{issuer}`."
                ),
            }],
            Self::EntraId => match path.strip_prefix('/').and_then(|p| p.strip_suffix("/v2.0")) {
                Some(tenant) => vec![IssuerHint {
                    iss: format!("https://sts.windows.net/{tenant}/"),
                    description: format!(
                        "The token is an Entra ID v1 access token while the v2 issuer `{issuer}` \
                         is configured: set `requestedAccessTokenVersion` to 2 in the app's \
                         manifest, or configure the v1 issuer `https://sts.windows.net/{tenant}/`."
                    ),
                }],
                None => Vec::new(),
            },
            _ => Vec::new(),
        }
    }
}

/// For a v1 issuer (`https://sts.windows.net/<tenant>/`, or the China
/// cloud's `sts.chinacloudapi.cn`): where its metadata is published
/// (`https://login.microsoftonline.com/<tenant>/.well-known/openid-configuration`,
/// whose `issuer` is the v1 issuer) and the v2 authority clients get tokens
/// from (the app's manifest decides which version those tokens are).
fn entra_v1_authority(issuer: &str) -> Option<(String, String)> {
    let url = Url::parse(issuer).ok()?;
    let login = match url.host_str()? {
        "sts.windows.net" => "login.microsoftonline.com",
        "sts.chinacloudapi.cn" => "login.chinacloudapi.cn",
        _ => return None,
    };
    let tenant = url.path().strip_prefix('/')?.strip_suffix('/')?;
    (!tenant.is_empty() && !tenant.contains('/')).then(|| {
        (
            format!("https://{login}/{tenant}/.well-known/openid-configuration"),
            format!("https://{login}/{tenant}/v2.0"),
        )
    })
}

fn check_entra(path: &str) -> Result<(), String> {
    let tenant = path
        .strip_prefix('/')
        .and_then(|p| p.strip_suffix("/v2.0").or_else(|| p.strip_suffix('/')))
        .filter(|t| !t.is_empty() && !t.contains('/'));
    let Some(tenant) = tenant else {
        return Err(
            "an Entra ID issuer is `https://login.microsoftonline.com/<tenant id>/v2.0` (v2 access \
             tokens) or `https://sts.windows.net/<tenant id>/` (v1 access tokens): copy `issuer` \
             from your tenant's `.well-known/openid-configuration`"
                .into(),
        );
    };
    if ENTRA_MULTI_TENANT
        .iter()
        .any(|m| m.eq_ignore_ascii_case(tenant))
    {
        return Err(format!(
            "`{tenant}` is a multi-tenant endpoint, not a tenant: tokens carry their own \
             tenant's issuer; use `providers::entra_id_multi_tenant` with the tenants to accept"
        ));
    }
    if !is_guid(tenant) {
        return Err(format!(
            "Entra ID issuers name the tenant by its id (a GUID, the \"Directory (tenant) ID\"), \
             not `{tenant}`: tokens' `iss` and the metadata's `issuer` use the id"
        ));
    }
    Ok(())
}

fn check_cognito(url: &Url, path: &str) -> Result<(), String> {
    let shape = "a Cognito issuer is `https://cognito-idp.<region>.amazonaws.com/<user pool id>`, \
                 the pool id being `<region>_<id>` (e.g. `eu-west-1_AbCdEf123`)";
    let pool = path
        .strip_prefix('/')
        .filter(|p| !p.contains('/'))
        .ok_or_else(|| shape.to_owned())?;
    let Some((region, id)) = pool.split_once('_') else {
        return Err(format!("{shape}; `{pool}` is not a user pool id"));
    };
    let region_ok = region.contains('-')
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok || id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!("{shape}; `{pool}` is not a user pool id"));
    }
    if !mcp_auth_rules::resource::is_loopback(url) {
        let expected = format!("cognito-idp.{region}.amazonaws.com");
        if url.host_str() != Some(expected.as_str()) {
            return Err(format!(
                "the user pool `{pool}` is in `{region}`: its issuer's host is `{expected}`"
            ));
        }
    }
    Ok(())
}

fn check_okta(origin: &str, path: &str) -> Result<(), String> {
    if path.is_empty() || path == "/" {
        return Err(format!(
            "`{origin}` is the Okta org authorization server: its access tokens are for Okta's \
             own APIs and cannot be verified by a resource server; create or use a custom \
             authorization server and configure its issuer, e.g. `{origin}/oauth2/default`"
        ));
    }
    let trimmed = path.trim_end_matches('/');
    let id_ok = trimmed
        .strip_prefix("/oauth2/")
        .is_some_and(|id| is_segment(id) && !id.contains('/'));
    match (id_ok, trimmed == path) {
        (true, true) => Ok(()),
        (true, false) => Err(format!(
            "an Okta issuer has no trailing slash; did you mean `{origin}{trimmed}`?"
        )),
        (false, _) => Err(format!(
            "an Okta custom authorization server's issuer is `{origin}/oauth2/<authorization \
             server id>` (e.g. `{origin}/oauth2/default`): copy `issuer` from its metadata"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    #[test]
    fn entra_v1_issuers_are_discovered_at_their_login_authority() {
        assert_eq!(
            entra_v1_authority(&format!("https://sts.windows.net/{TID}/")),
            Some((
                format!("https://login.microsoftonline.com/{TID}/.well-known/openid-configuration"),
                format!("https://login.microsoftonline.com/{TID}/v2.0"),
            ))
        );
        assert_eq!(
            entra_v1_authority(&format!("https://sts.chinacloudapi.cn/{TID}/")).map(|(u, _)| u),
            Some(format!(
                "https://login.chinacloudapi.cn/{TID}/.well-known/openid-configuration"
            ))
        );
        for other in [
            format!("https://login.microsoftonline.com/{TID}/v2.0"),
            format!("https://sts.windows.net/{TID}"),
            format!("https://sts.windows.net/{TID}/x/"),
            "https://sts.windows.net//".to_owned(),
            format!("http://127.0.0.1:8080/{TID}/"),
        ] {
            assert_eq!(entra_v1_authority(&other), None, "{other}");
        }
        let resource = entra_id(
            "https://api.example.com/mcp",
            format!("https://sts.windows.net/{TID}/"),
        );
        let debug = format!("{resource:?}");
        assert!(
            debug.contains(&format!("https://login.microsoftonline.com/{TID}/v2.0")),
            "{debug}"
        );
    }

    #[test]
    fn shape_rules() {
        use Provider::*;
        let ok = [
            (
                EntraId,
                format!("https://login.microsoftonline.com/{TID}/v2.0"),
            ),
            (EntraId, format!("https://sts.windows.net/{TID}/")),
            (EntraId, format!("http://127.0.0.1:8000/{TID}/v2.0")),
            (
                EntraIdMultiTenant,
                "https://login.microsoftonline.com/{tenantid}/v2.0".into(),
            ),
            (
                EntraIdMultiTenant,
                "https://sts.windows.net/{tenantid}/".into(),
            ),
            (
                Cognito,
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123".into(),
            ),
            (Cognito, "http://127.0.0.1:9000/us-east-1_Xyz9".into()),
            (Keycloak, "https://sso.example.com/realms/mcp".into()),
            (Keycloak, "https://sso.example.com/auth/realms/mcp".into()),
            (Auth0, "https://my-tenant.us.auth0.com/".into()),
            (Auth0, "http://127.0.0.1:9000/".into()),
            (Okta, "https://acme.okta.com/oauth2/default".into()),
            (
                Okta,
                "https://acme.okta.com/oauth2/aus1a2b3c4D5e6F7g8".into(),
            ),
            (Logto, "https://abc123.logto.app/oidc".into()),
            (Logto, "https://auth.example.com/oidc".into()),
        ];
        for (provider, issuer) in ok {
            assert_eq!(provider.check(&issuer), Ok(()), "{provider:?} {issuer}");
        }
        let bad = [
            (
                EntraId,
                "https://login.microsoftonline.com/common/v2.0",
                "entra_id_multi_tenant",
            ),
            (
                EntraId,
                "https://login.microsoftonline.com/Organizations/v2.0",
                "multi-tenant endpoint",
            ),
            (
                EntraId,
                "https://login.microsoftonline.com/consumers/",
                "multi-tenant endpoint",
            ),
            (
                EntraId,
                "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
                "GUID",
            ),
            (
                EntraId,
                "https://login.microsoftonline.com/v2.0",
                "<tenant id>/v2.0",
            ),
            (
                EntraId,
                "https://login.microsoftonline.com/",
                "<tenant id>/v2.0",
            ),
            (
                EntraIdMultiTenant,
                "https://login.microsoftonline.com/organizations/v2.0",
                "template",
            ),
            (
                Cognito,
                "https://cognito-idp.eu-west-1.amazonaws.com/",
                "user pool id",
            ),
            (
                Cognito,
                "https://cognito-idp.eu-west-1.amazonaws.com/pool",
                "not a user pool id",
            ),
            (
                Cognito,
                "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_a/b",
                "user pool id",
            ),
            (
                Cognito,
                "https://cognito-idp.us-east-1.amazonaws.com/eu-west-1_AbC",
                "`cognito-idp.eu-west-1.amazonaws.com`",
            ),
            (
                Cognito,
                "https://auth.example.com/eu-west-1_AbC",
                "`cognito-idp.eu-west-1.amazonaws.com`",
            ),
            (
                Keycloak,
                "https://sso.example.com/realms/mcp/",
                "did you mean `https://sso.example.com/realms/mcp`?",
            ),
            (Keycloak, "https://sso.example.com/mcp", "/realms/<realm>"),
            (
                Keycloak,
                "https://sso.example.com/realms/",
                "/realms/<realm>",
            ),
            (
                Auth0,
                "https://my-tenant.us.auth0.com",
                "did you mean `https://my-tenant.us.auth0.com/`?",
            ),
            (
                Auth0,
                "https://my-tenant.us.auth0.com/api/v2/",
                "did you mean `https://my-tenant.us.auth0.com/`?",
            ),
            (Okta, "https://acme.okta.com", "org authorization server"),
            (Okta, "https://acme.okta.com/", "org authorization server"),
            (
                Okta,
                "https://acme.okta.com/oauth2/default/",
                "did you mean `https://acme.okta.com/oauth2/default`?",
            ),
            (
                Okta,
                "https://acme.okta.com/oauth2",
                "`https://acme.okta.com/oauth2/default`",
            ),
            (
                Okta,
                "https://acme.okta.com/oauth2/default/v1",
                "<authorization server id>",
            ),
            (
                Logto,
                "https://abc123.logto.app/",
                "did you mean `https://abc123.logto.app/oidc`?",
            ),
            (
                Logto,
                "https://abc123.logto.app/oidc/",
                "did you mean `https://abc123.logto.app/oidc`?",
            ),
            (Logto, "not a url", "absolute URL"),
        ];
        for (provider, issuer, needle) in bad {
            let reason = provider.check(issuer).expect_err(issuer);
            assert!(reason.contains(needle), "{provider:?} {issuer}: {reason}");
        }
    }

    #[test]
    fn hints_for_known_mistakes() {
        let okta = Provider::Okta.hints("https://acme.okta.com/oauth2/default");
        assert_eq!(okta.len(), 1);
        assert_eq!(okta[0].iss, "https://acme.okta.com");
        assert!(okta[0].description.contains("org authorization server"));
        let entra =
            Provider::EntraId.hints(&format!("https://login.microsoftonline.com/{TID}/v2.0"));
        assert_eq!(entra[0].iss, format!("https://sts.windows.net/{TID}/"));
        assert!(entra[0].description.contains("requestedAccessTokenVersion"));
        assert!(
            Provider::EntraId
                .hints(&format!("https://sts.windows.net/{TID}/"))
                .is_empty()
        );
        assert!(Provider::Auth0.hints("https://t.auth0.com/").is_empty());
    }

    #[test]
    fn s256_is_added_only_when_missing() {
        let filled = add_s256(Map::new());
        assert_eq!(
            filled["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        let mut null = Map::new();
        null.insert("code_challenge_methods_supported".into(), Value::Null);
        assert_eq!(
            add_s256(null)["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        let mut plain = Map::new();
        plain.insert(
            "code_challenge_methods_supported".into(),
            serde_json::json!(["plain"]),
        );
        assert_eq!(
            add_s256(plain)["code_challenge_methods_supported"],
            serde_json::json!(["plain"])
        );
        // One shared hook: two profiles of one issuer configure one server.
        let (a, b) = (fill_s256(), fill_s256());
        assert!(a.same_as(&b));
    }
}
