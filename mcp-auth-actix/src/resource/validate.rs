//! The checks a resource's configuration must pass in `build()`: its RFC
//! 9728 metadata, its scope hierarchy and the public origin. The shape rules
//! themselves (scope-token, URLs) come from `mcp-auth-rules`, shared with the
//! macro.

use std::collections::HashMap;

use mcp_auth_rules as rules;
use url::Url;

use crate::{DpopMode, DpopOptions, ResourceServerMetadata, error::ConfigError};

/// The transitive closure of a scope hierarchy; every scope must be a valid
/// scope-token.
pub(crate) fn closure(
    resource: &str,
    direct: HashMap<String, Vec<String>>,
) -> Result<HashMap<String, Vec<String>>, ConfigError> {
    for scope in direct.keys().chain(direct.values().flatten()) {
        if let Err(reason) = rules::scope::advertisable(scope) {
            return Err(ConfigError::InvalidScope {
                resource: resource.to_owned(),
                field: "scope_implies",
                scope: scope.clone(),
                reason,
            });
        }
    }
    let mut closed = HashMap::new();
    for broad in direct.keys() {
        let mut implied: Vec<String> = Vec::new();
        let mut stack: Vec<&String> = direct[broad].iter().collect();
        while let Some(scope) = stack.pop() {
            if scope != broad && !implied.contains(scope) {
                implied.push(scope.clone());
                stack.extend(direct.get(scope).into_iter().flatten());
            }
        }
        closed.insert(broad.clone(), implied);
    }
    Ok(closed)
}

/// Checks the audience relaxations of a resource: an allow-list of
/// `client_id`s for tokens without `aud` must name at least one non-empty
/// id, and required claims must be distinct, named, and not one the claim
/// policy already checks.
pub(crate) fn audience_policy(
    id: &str,
    client_ids: Option<&[String]>,
    required_claims: &[(String, serde_json::Value)],
) -> Result<(), ConfigError> {
    let field_error = |field: &'static str, reason: String| ConfigError::InvalidField {
        subject: id.to_owned(),
        field,
        reason,
    };
    if let Some(ids) = client_ids {
        if ids.is_empty() {
            return Err(field_error(
                "accept_client_ids",
                "the allow-list is empty: it would accept nothing; list the provider's client ids \
                 or do not call `accept_client_ids`"
                    .into(),
            ));
        }
        if ids.iter().any(|c| c.trim().is_empty()) {
            return Err(field_error(
                "accept_client_ids",
                "a client id is empty".into(),
            ));
        }
    }
    for (i, (name, _)) in required_claims.iter().enumerate() {
        if name.is_empty() {
            return Err(field_error("require_claim", "a claim name is empty".into()));
        }
        if ["iss", "aud", "exp", "nbf", "iat"].contains(&name.as_str()) {
            return Err(field_error(
                "require_claim",
                format!("`{name}` is checked by the claim policy itself; configure it there"),
            ));
        }
        if required_claims[..i].iter().any(|(n, _)| n == name) {
            return Err(field_error(
                "require_claim",
                format!("`{name}` is required twice"),
            ));
        }
    }
    Ok(())
}

/// Claims that mean something else than scopes.
const NOT_SCOPE_CLAIMS: [&str; 10] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "cnf",
    "client_id",
    "azp",
];

/// Checks where scopes are read from and the `require_any_claim` groups:
/// both lists non-empty, names non-empty and distinct, scopes not read from
/// a registered claim that means something else.
pub(crate) fn claim_settings(
    id: &str,
    scope_claims: &[String],
    required_any_claims: &[Vec<String>],
) -> Result<(), ConfigError> {
    let field_error = |field: &'static str, reason: String| ConfigError::InvalidField {
        subject: id.to_owned(),
        field,
        reason,
    };
    let names = |field: &'static str, list: &[String]| {
        if list.is_empty() {
            return Err(field_error(
                field,
                "the list is empty: name at least one claim".into(),
            ));
        }
        for (i, name) in list.iter().enumerate() {
            if name.trim().is_empty() {
                return Err(field_error(field, "a claim name is empty".into()));
            }
            if list[..i].contains(name) {
                return Err(field_error(field, format!("`{name}` is listed twice")));
            }
        }
        Ok(())
    };
    names("scope_claims", scope_claims)?;
    if let Some(name) = scope_claims
        .iter()
        .find(|n| NOT_SCOPE_CLAIMS.contains(&n.as_str()))
    {
        return Err(field_error(
            "scope_claims",
            format!("`{name}` is a registered claim that holds no scopes"),
        ));
    }
    for group in required_any_claims {
        names("require_any_claim", group)?;
    }
    Ok(())
}

pub(crate) fn parse_origin(origin: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(origin).map_err(|e| ConfigError::InvalidField {
        subject: "McpAuth".into(),
        field: "public_origin",
        reason: e.to_string(),
    })?;
    if url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
        || url.cannot_be_a_base()
    {
        return Err(ConfigError::InvalidField {
            subject: "McpAuth".into(),
            field: "public_origin",
            reason: "must be scheme://host[:port] without path, query or fragment".into(),
        });
    }
    Ok(url)
}

/// Checks `metadata` and fills in what the configuration decides: the
/// DPoP members come from the resource's [`DpopMode`] and the shared
/// [`DpopOptions`] (advertising DPoP with the mode `Off` is refused).
pub(crate) fn validate_metadata(
    id: &str,
    metadata: &mut ResourceServerMetadata,
    dpop: DpopMode,
    dpop_options: &DpopOptions,
) -> Result<(), ConfigError> {
    let field_error = |field: &'static str, reason: &str| ConfigError::InvalidField {
        subject: id.to_owned(),
        field,
        reason: reason.to_owned(),
    };
    for (i, scope) in metadata.scopes_supported.iter().enumerate() {
        let reason = rules::scope::advertisable(scope).err().or_else(|| {
            metadata.scopes_supported[..i]
                .contains(scope)
                .then(|| "listed twice".to_owned())
        });
        if let Some(reason) = reason {
            return Err(ConfigError::InvalidScope {
                resource: id.to_owned(),
                field: "scopes_supported",
                scope: scope.clone(),
                reason,
            });
        }
    }
    if metadata
        .resource_signing_alg_values_supported
        .iter()
        .any(|a| a == "none")
    {
        return Err(field_error(
            "resource_signing_alg_values_supported",
            "must not contain `none` (RFC 9728 §2)",
        ));
    }
    if metadata.bearer_methods_supported.is_empty() {
        metadata.bearer_methods_supported = vec!["header".into()];
    } else if metadata
        .bearer_methods_supported
        .iter()
        .any(|m| m != "header")
    {
        return Err(field_error(
            "bearer_methods_supported",
            "this crate accepts tokens only in the Authorization header; advertise [\"header\"]",
        ));
    }
    match dpop {
        DpopMode::Off => {
            if metadata.dpop_bound_access_tokens_required == Some(true) {
                return Err(field_error(
                    "dpop_bound_access_tokens_required",
                    "DPoP is off for this resource; use `ResourceConfig::dpop(DpopMode::Required)`",
                ));
            }
            if !metadata.dpop_signing_alg_values_supported.is_empty() {
                return Err(field_error(
                    "dpop_signing_alg_values_supported",
                    "DPoP is off for this resource; use `ResourceConfig::dpop(..)`",
                ));
            }
        }
        DpopMode::Allowed | DpopMode::Required => {
            metadata.dpop_signing_alg_values_supported = dpop_options
                .algorithm_names()
                .into_iter()
                .map(str::to_owned)
                .collect();
            metadata.dpop_bound_access_tokens_required =
                (dpop == DpopMode::Required).then_some(true);
        }
    }
    if metadata.tls_client_certificate_bound_access_tokens == Some(true) {
        return Err(field_error(
            "tls_client_certificate_bound_access_tokens",
            "mTLS-bound tokens are not enforced by this crate; do not advertise them",
        ));
    }
    let urls = [
        ("jwks_uri", &metadata.jwks_uri),
        ("resource_documentation", &metadata.resource_documentation),
        ("resource_policy_uri", &metadata.resource_policy_uri),
        ("resource_tos_uri", &metadata.resource_tos_uri),
    ];
    for (field, value) in urls {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            let url =
                rules::resource::http_url(field, value).map_err(|e| field_error(field, &e))?;
            if field == "jwks_uri" && url.scheme() != "https" {
                return Err(field_error(field, "must use https (RFC 9728 §2)"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn claim_settings_table() {
        let ok = names(&["scope", "scp"]);
        assert!(claim_settings("r", &ok, &[]).is_ok());
        assert!(claim_settings("r", &names(&["permissions"]), &[names(&["scp", "roles"])]).is_ok());
        type Case = (Vec<String>, Vec<Vec<String>>, &'static str, &'static str);
        let cases: [Case; 8] = [
            (vec![], vec![], "scope_claims", "empty"),
            (names(&[""]), vec![], "scope_claims", "empty"),
            (names(&["scp", "scp"]), vec![], "scope_claims", "twice"),
            (names(&["aud"]), vec![], "scope_claims", "registered"),
            (
                names(&["scope", "client_id"]),
                vec![],
                "scope_claims",
                "registered",
            ),
            (ok.clone(), vec![vec![]], "require_any_claim", "empty"),
            (
                ok.clone(),
                vec![names(&["scp", " "])],
                "require_any_claim",
                "empty",
            ),
            (
                ok.clone(),
                vec![names(&["roles", "roles"])],
                "require_any_claim",
                "twice",
            ),
        ];
        for (scopes, any, field, word) in cases {
            match claim_settings("r", &scopes, &any) {
                Err(ConfigError::InvalidField {
                    subject,
                    field: f,
                    reason,
                }) => {
                    assert_eq!((subject.as_str(), f), ("r", field), "{scopes:?} {any:?}");
                    assert!(reason.contains(word), "{reason}");
                }
                other => panic!("{scopes:?} {any:?}: {other:?}"),
            }
        }
    }
}
