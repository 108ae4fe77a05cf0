//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the document type and
//! the well-known URL rule. The endpoints that serve it are in
//! `web/well_known.rs` ([`routes`](crate::routes)).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

/// Well-known path prefix of protected resource metadata (RFC 9728 §3).
pub const WELL_KNOWN_PREFIX: &str = "/.well-known/oauth-protected-resource";

/// Protected Resource Metadata (RFC 9728 §2). Empty members are omitted when
/// serialized (§3.2); unknown members are kept in [`extra`](Self::extra).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResourceServerMetadata {
    /// The resource identifier (served byte-identical to the configured value).
    pub resource: String,
    /// Issuer identifiers of the authorization servers. Filled by
    /// [`McpAuth`](crate::McpAuth) from the resource's configuration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_servers: Vec<String>,
    /// The resource server's own JWK Set (not the authorization server's).
    #[serde(default, skip_serializing_if = "is_empty_opt")]
    pub jwks_uri: Option<String>,
    /// Scopes clients may request for this resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// How bearer tokens may be sent (`header` is what this crate accepts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bearer_methods_supported: Vec<String>,
    /// JWS algorithms for signed responses (never `none`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_signing_alg_values_supported: Vec<String>,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "is_empty_opt")]
    pub resource_name: Option<String>,
    /// Developer documentation URL.
    #[serde(default, skip_serializing_if = "is_empty_opt")]
    pub resource_documentation: Option<String>,
    /// Policy URL.
    #[serde(default, skip_serializing_if = "is_empty_opt")]
    pub resource_policy_uri: Option<String>,
    /// Terms of service URL.
    #[serde(default, skip_serializing_if = "is_empty_opt")]
    pub resource_tos_uri: Option<String>,
    /// Whether mTLS-bound tokens are supported (RFC 8705).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_client_certificate_bound_access_tokens: Option<bool>,
    /// RFC 9396 authorization details types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_details_types_supported: Vec<String>,
    /// DPoP proof algorithms (RFC 9449).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dpop_signing_alg_values_supported: Vec<String>,
    /// Whether DPoP-bound tokens are required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_bound_access_tokens_required: Option<bool>,
    /// A JWT asserting these members (RFC 9728 §2.2).
    #[serde(default, skip_serializing_if = "is_empty_opt")]
    pub signed_metadata: Option<String>,
    /// Any other member, served as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn is_empty_opt(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(str::is_empty)
}

impl ResourceServerMetadata {
    /// Metadata for `resource` with every optional member empty.
    pub fn new(resource: impl Into<String>) -> Self {
        Self {
            resource: resource.into(),
            ..Self::default()
        }
    }
}

/// The path of a resource's metadata document: the well-known prefix
/// inserted before the resource's path, a lone `/` dropped (RFC 9728 §3.1).
/// `https://h/mcp` → `/.well-known/oauth-protected-resource/mcp`.
pub fn well_known_path(resource: &Url) -> String {
    match resource.path() {
        "/" | "" => WELL_KNOWN_PREFIX.to_owned(),
        path => format!("{WELL_KNOWN_PREFIX}{path}"),
    }
}

/// The absolute metadata URL of `resource`, used as `resource_metadata` in
/// challenges. `https://h/mcp` →
/// `https://h/.well-known/oauth-protected-resource/mcp`.
pub fn well_known_url(resource: &Url) -> String {
    format!(
        "{}{}",
        resource.origin().ascii_serialization(),
        well_known_path(resource)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_rule() {
        let table = [
            (
                "https://a.com",
                "https://a.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://a.com/",
                "https://a.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://a.com/mcp",
                "https://a.com/.well-known/oauth-protected-resource/mcp",
            ),
            (
                "https://a.com/mcp/",
                "https://a.com/.well-known/oauth-protected-resource/mcp/",
            ),
            (
                "https://a.com/a/b/mcp",
                "https://a.com/.well-known/oauth-protected-resource/a/b/mcp",
            ),
            (
                "http://127.0.0.1:8080/mcp",
                "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp",
            ),
            (
                "https://a.com:443/x",
                "https://a.com/.well-known/oauth-protected-resource/x",
            ),
            (
                "https://a.com/a%20b",
                "https://a.com/.well-known/oauth-protected-resource/a%20b",
            ),
        ];
        for (resource, expected) in table {
            assert_eq!(
                well_known_url(&Url::parse(resource).unwrap()),
                expected,
                "{resource}"
            );
        }
    }

    #[test]
    fn empty_members_are_omitted() {
        let mut m = ResourceServerMetadata::new("https://a.com/mcp");
        m.resource_name = Some(String::new());
        m.authorization_servers = vec!["https://as.example".into()];
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"resource":"https://a.com/mcp","authorization_servers":["https://as.example"]}"#
        );
    }
}
