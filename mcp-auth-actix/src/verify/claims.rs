//! [`ClaimPolicy`]: the checks every verified token goes through, whatever
//! produced its claims (JWT, introspection, a custom verifier): issuer,
//! audience (RFC 8707), lifetime, token type, and the scopes it grants.

use serde_json::{Map, Value};

use crate::error::{AuthError, Reason};

/// The checks every verified token goes through, built once per resource.
#[derive(Debug)]
pub(crate) struct ClaimPolicy {
    pub(crate) issuers: Vec<TrustedIssuer>,
    pub(crate) audiences: Vec<String>,
    /// Tokens without `aud` are accepted when their `client_id` is one of
    /// these (empty: never).
    pub(crate) client_ids_without_aud: Vec<String>,
    /// Claims every token must carry with exactly this value.
    pub(crate) required_claims: Vec<(String, Value)>,
    /// Every token must carry a non-empty value of at least one claim of
    /// each group.
    pub(crate) required_any_claims: Vec<Vec<String>>,
    pub(crate) leeway: u64,
    /// JWTs must carry `iss` and `exp`; introspection/custom results may omit them.
    pub(crate) require_iss_exp: bool,
    pub(crate) strict: bool,
}

impl ClaimPolicy {
    /// A JWT policy for `https://api.example/mcp` trusting
    /// `https://as.example` (unit tests and fuzzing).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn example() -> Self {
        Self {
            issuers: vec![TrustedIssuer::exact("https://as.example")],
            audiences: vec!["https://api.example/mcp".into()],
            client_ids_without_aud: Vec::new(),
            required_claims: Vec::new(),
            required_any_claims: Vec::new(),
            leeway: 30,
            require_iss_exp: true,
            strict: false,
        }
    }

    pub(crate) fn check(&self, claims: &Map<String, Value>, now: u64) -> Result<(), AuthError> {
        match claims.get("iss") {
            Some(Value::String(iss)) if self.issuers.iter().any(|t| t.accepts(iss, claims)) => {}
            Some(Value::String(iss)) => {
                return Err(untrusted_issuer(iss, &self.issuers));
            }
            Some(_) => {
                return Err(AuthError::invalid_token(
                    Reason::Issuer,
                    "The `iss` claim is malformed.",
                ));
            }
            None if self.require_iss_exp => {
                return Err(AuthError::invalid_token(
                    Reason::Issuer,
                    "The token has no `iss` claim.",
                ));
            }
            None => {}
        }
        match numeric_claim(claims, "exp")? {
            Some(exp) if exp + self.leeway as f64 <= now as f64 => {
                return Err(AuthError::invalid_token(
                    Reason::Expired,
                    "The access token has expired.",
                ));
            }
            None if self.require_iss_exp => {
                return Err(AuthError::invalid_token(
                    Reason::Claims,
                    "The token has no `exp` claim.",
                ));
            }
            _ => {}
        }
        if let Some(nbf) = numeric_claim(claims, "nbf")?
            && nbf > now.saturating_add(self.leeway) as f64
        {
            return Err(AuthError::invalid_token(
                Reason::NotYetValid,
                "The access token is not valid yet (`nbf`).",
            ));
        }
        if let Some(iat) = numeric_claim(claims, "iat")?
            && iat > now.saturating_add(self.leeway) as f64
        {
            return Err(AuthError::invalid_token(
                Reason::NotYetValid,
                "The access token was issued in the future (`iat`).",
            ));
        }
        for (name, value) in &self.required_claims {
            if claims.get(name) != Some(value) {
                return Err(AuthError::invalid_token(
                    Reason::Claims,
                    format!(
                        "The access token's `{name}` claim is missing or not the required value."
                    ),
                ));
            }
        }
        for group in &self.required_any_claims {
            if !group
                .iter()
                .any(|name| claims.get(name).is_some_and(non_empty))
            {
                let names = group
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(AuthError::invalid_token(
                    Reason::Claims,
                    format!(
                        "The access token carries none of the claims {names} (one is required)."
                    ),
                ));
            }
        }
        let aud_ok = match claims.get("aud") {
            Some(Value::String(aud)) => self.audience_matches(aud),
            Some(Value::Array(auds)) => auds
                .iter()
                .any(|a| a.as_str().is_some_and(|a| self.audience_matches(a))),
            None if !self.client_ids_without_aud.is_empty() => {
                let known = match claims.get("client_id") {
                    Some(Value::String(id)) => self.client_ids_without_aud.contains(id),
                    _ => false,
                };
                if !known {
                    return Err(AuthError::invalid_token(
                        Reason::Audience,
                        "The access token has no `aud` and its `client_id` is not accepted for this resource.",
                    ));
                }
                true
            }
            _ => false,
        };
        if !aud_ok {
            return Err(AuthError::invalid_token(
                Reason::Audience,
                "The access token was not issued for this resource (`aud`).",
            ));
        }
        if self.strict {
            for claim in ["sub", "client_id", "jti"] {
                if claims
                    .get(claim)
                    .is_none_or(|v| v.as_str().is_none_or(str::is_empty))
                {
                    return Err(AuthError::invalid_token(
                        Reason::Claims,
                        format!("The access token has no `{claim}` claim (RFC 9068 profile)."),
                    ));
                }
            }
            if !claims.contains_key("iat") {
                return Err(AuthError::invalid_token(
                    Reason::Claims,
                    "The access token has no `iat` claim (RFC 9068 profile).",
                ));
            }
        }
        Ok(())
    }

    /// Exact match; scheme and host compared case-insensitively (MCP
    /// "Canonical Server URI"), the rest byte for byte. Never a prefix match.
    fn audience_matches(&self, aud: &str) -> bool {
        self.audiences.iter().any(|expected| {
            expected == aud
                || matches!((split_origin(expected), split_origin(aud)),
                    (Some((eo, ep)), Some((ao, ap))) if eo.eq_ignore_ascii_case(ao) && ep == ap)
        })
    }
}

/// The literal an Entra ID multi-tenant issuer template holds in place of
/// the tenant id (`https://login.microsoftonline.com/{tenantid}/v2.0`).
pub(crate) const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// An issuer a resource trusts: an exact identifier, or a multi-tenant
/// template with the tenants allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrustedIssuer {
    /// The issuer identifier, or the template holding `{tenantid}`.
    pub(crate) issuer: String,
    /// `Some`: `issuer` is a template; a token's `iss` must be it with the
    /// token's own `tid` substituted, and `tid` must be one of these.
    pub(crate) tenants: Option<Vec<String>>,
    /// Known mistakes: an `iss` that is one of these is refused with its
    /// explanation (e.g. the Okta org authorization server of a custom one).
    pub(crate) hints: Vec<IssuerHint>,
}

/// An issuer a token may carry by a known configuration mistake, and what
/// to tell the client about it. The description names only configured
/// values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IssuerHint {
    /// The mistaken `iss`, compared exactly.
    pub(crate) iss: String,
    /// The `error_description` of the refusal.
    pub(crate) description: String,
}

impl TrustedIssuer {
    /// An issuer compared exactly.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn exact(issuer: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            tenants: None,
            hints: Vec::new(),
        }
    }

    /// Whether a token with `iss` and `claims` was issued by this issuer.
    pub(crate) fn accepts(&self, iss: &str, claims: &Map<String, Value>) -> bool {
        let Some(tenants) = &self.tenants else {
            return self.issuer == iss;
        };
        let Some(Value::String(tid)) = claims.get("tid") else {
            return false;
        };
        tenants.iter().any(|t| t == tid) && self.issuer.replacen(TENANT_PLACEHOLDER, tid, 1) == iss
    }
}

/// Whether two issuer identifiers differ only by one trailing slash
/// (`https://tenant.auth0.com` and `https://tenant.auth0.com/`).
pub(crate) fn differ_by_trailing_slash(a: &str, b: &str) -> bool {
    a.strip_suffix('/') == Some(b) || b.strip_suffix('/') == Some(a)
}

/// The refusal of an `iss` that equals no trusted issuer. Issuers are
/// compared exactly (RFC 9068 §4, RFC 8414 §3.3); when `iss` is a known
/// mistake for a trusted issuer (its [`IssuerHint`]s) or differs from one
/// only by a trailing slash, the description and the cause say which one
/// was meant. Only configured values are named, never the token's own `iss`.
pub(crate) fn untrusted_issuer<'a>(
    iss: &str,
    trusted: impl IntoIterator<Item = &'a TrustedIssuer> + Clone,
) -> AuthError {
    if let Some(hint) = trusted
        .clone()
        .into_iter()
        .flat_map(|t| &t.hints)
        .find(|h| h.iss == iss)
    {
        return AuthError::invalid_token(Reason::Issuer, hint.description.clone())
            .with_cause(hint.description.clone());
    }
    match trusted
        .into_iter()
        .map(|t| t.issuer.as_str())
        .find(|t| differ_by_trailing_slash(t, iss))
    {
        Some(meant) => AuthError::invalid_token(
            Reason::Issuer,
            format!(
                "The token's issuer differs from a trusted issuer only by a trailing slash \
                 (issuers must match exactly); did you mean `{meant}`?"
            ),
        )
        .with_cause(format!(
            "`iss` differs from the configured issuer only by a trailing slash; did you mean `{meant}`?"
        )),
        None => AuthError::invalid_token(
            Reason::Issuer,
            "The token was issued by an untrusted issuer.",
        ),
    }
}

/// `scheme://authority` and the rest of a URL-like string.
fn split_origin(s: &str) -> Option<(&str, &str)> {
    let start = s.find("://")? + 3;
    let end = s[start..].find('/').map_or(s.len(), |j| start + j);
    Some(s.split_at(end))
}

/// The last second of year 9999: NumericDates beyond it (or before 1970)
/// are refused, so no later arithmetic on them can overflow.
pub(crate) const MAX_NUMERIC_DATE: f64 = 253_402_300_799.0;

/// A NumericDate claim; integers and floats in 0 ..= year 9999 are
/// accepted, anything else is an error.
fn numeric_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<f64>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|v| (0.0..=MAX_NUMERIC_DATE).contains(v))
            .map(Some)
            .ok_or_else(|| {
                AuthError::invalid_token(
                    Reason::Claims,
                    format!("The `{name}` claim is out of range."),
                )
            }),
        Some(_) => Err(AuthError::invalid_token(
            Reason::Claims,
            format!("The `{name}` claim is not a number."),
        )),
    }
}

/// Whether a claim value counts as present for `require_any_claim`: not
/// null, not an empty string, array or object.
fn non_empty(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// The claims scopes are read from by default.
pub(crate) const DEFAULT_SCOPE_CLAIMS: [&str; 2] = ["scope", "scp"];

/// Scopes from the claims `names`, in order (default `scope` and `scp`): a
/// string is space-delimited (RFC 9068 §2.2.3 `scope`, Entra ID `scp`), an
/// array holds one scope per string (Okta `scp`, Auth0 `permissions`,
/// Entra ID `roles`); anything else is ignored. De-duplicated in order.
pub(crate) fn scopes_of<S: AsRef<str>>(claims: &Map<String, Value>, names: &[S]) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        if !s.is_empty() && !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_owned());
        }
    };
    for name in names {
        match claims.get(name.as_ref()) {
            Some(Value::String(s)) => s.split_ascii_whitespace().for_each(&mut push),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).for_each(&mut push),
            _ => {}
        }
    }
    scopes
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn policy() -> ClaimPolicy {
        ClaimPolicy::example()
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn claim_table() {
        let now = 1_000_000;
        let ok =
            json!({"iss": "https://as.example", "aud": "https://api.example/mcp", "exp": now + 60});
        let cases: Vec<(Value, bool)> = vec![
            (ok.clone(), true),
            (
                json!({"iss": "https://as.example", "aud": ["x", "https://api.example/mcp"], "exp": now + 60}),
                true,
            ),
            (
                json!({"iss": "https://as.example", "aud": "HTTPS://API.EXAMPLE/mcp", "exp": now + 60}),
                true,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/MCP", "exp": now + 60}),
                false,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mcp-evil", "exp": now + 60}),
                false,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mc", "exp": now + 60}),
                false,
            ),
            (json!({"iss": "https://as.example", "exp": now + 60}), false),
            (
                json!({"iss": "https://as.example", "aud": [], "exp": now + 60}),
                false,
            ),
            (
                json!({"iss": "https://as.example/", "aud": "https://api.example/mcp", "exp": now + 60}),
                false,
            ),
            (
                json!({"aud": "https://api.example/mcp", "exp": now + 60}),
                false,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mcp"}),
                false,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mcp", "exp": now - 31}),
                false,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mcp", "exp": now - 5}),
                true,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mcp", "exp": (now + 60) as f64 + 0.5}),
                true,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mcp", "exp": "soon"}),
                false,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mcp", "exp": now + 60, "nbf": now + 600}),
                false,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mcp", "exp": now + 60, "nbf": now + 10}),
                true,
            ),
            (
                json!({"iss": "https://as.example", "aud": "https://api.example/mcp", "exp": now + 60, "iat": now + 600}),
                false,
            ),
            (
                json!({"iss": 5, "aud": "https://api.example/mcp", "exp": now + 60}),
                false,
            ),
        ];
        for (c, expect) in cases {
            assert_eq!(
                policy().check(&claims(c.clone()), now).is_ok(),
                expect,
                "{c}"
            );
        }
        let strict = ClaimPolicy {
            strict: true,
            ..policy()
        };
        assert!(strict.check(&claims(ok), now).is_err());
        let full = json!({"iss": "https://as.example", "aud": "https://api.example/mcp", "exp": now + 60,
            "sub": "u", "client_id": "c", "jti": "j", "iat": now});
        assert!(strict.check(&claims(full), now).is_ok());
    }

    #[test]
    fn tokens_without_aud_need_an_allowed_client_id_and_the_required_claims() {
        let now = 1_000_000;
        let cognito = ClaimPolicy {
            client_ids_without_aud: vec!["app".into()],
            required_claims: vec![("token_use".into(), "access".into())],
            ..policy()
        };
        let base = json!({"iss": "https://as.example", "exp": now + 60, "client_id": "app", "token_use": "access"});
        let with = |k: &str, v: Value| {
            let mut c = claims(base.clone());
            c.insert(k.into(), v);
            c
        };
        assert!(cognito.check(&claims(base.clone()), now).is_ok());
        assert!(cognito.check(&with("token_use", "id".into()), now).is_err());
        assert!(
            cognito
                .check(&with("token_use", json!(["access"])), now)
                .is_err()
        );
        assert!(
            cognito
                .check(&with("client_id", "other".into()), now)
                .is_err()
        );
        assert!(
            cognito
                .check(&with("client_id", json!(["app"])), now)
                .is_err()
        );
        assert!(
            cognito
                .check(&with("aud", "https://x.example".into()), now)
                .is_err()
        );
        assert!(cognito.check(&with("aud", Value::Null), now).is_err());
        assert!(cognito.check(&with("aud", json!([])), now).is_err());
        assert!(
            cognito
                .check(&with("aud", "https://api.example/mcp".into()), now)
                .is_ok()
        );
        let mut no_use = claims(base.clone());
        no_use.remove("token_use");
        assert!(cognito.check(&no_use, now).is_err());
        // The default policy never accepts a token without `aud`.
        assert!(policy().check(&claims(base), now).is_err());
    }

    #[test]
    fn multi_tenant_issuers_need_their_own_allowed_tid() {
        let entra = TrustedIssuer {
            issuer: "https://login.example/{tenantid}/v2.0".into(),
            tenants: Some(vec!["t1".into(), "t2".into()]),
            hints: Vec::new(),
        };
        let with_tid = |tid: Value| claims(json!({ "tid": tid }));
        assert!(entra.accepts("https://login.example/t1/v2.0", &with_tid("t1".into())));
        assert!(entra.accepts("https://login.example/t2/v2.0", &with_tid("t2".into())));
        assert!(!entra.accepts("https://login.example/t2/v2.0", &with_tid("t1".into())));
        assert!(!entra.accepts("https://login.example/t3/v2.0", &with_tid("t3".into())));
        assert!(!entra.accepts(
            "https://login.example/{tenantid}/v2.0",
            &with_tid("t1".into())
        ));
        assert!(!entra.accepts("https://login.example/t1/v2.0", &claims(json!({}))));
        assert!(!entra.accepts("https://login.example/t1/v2.0", &with_tid(json!(["t1"]))));
        let exact = TrustedIssuer::exact("https://as.example");
        assert!(exact.accepts("https://as.example", &claims(json!({}))));
        assert!(!exact.accepts("https://as.example/", &claims(json!({}))));
    }

    #[test]
    fn scopes_from_scope_and_scp() {
        let c = claims(json!({"scope": " read  write read", "scp": ["admin", "write", 3]}));
        assert_eq!(
            scopes_of(&c, &DEFAULT_SCOPE_CLAIMS),
            ["read", "write", "admin"]
        );
        assert!(scopes_of(&claims(json!({})), &DEFAULT_SCOPE_CLAIMS).is_empty());
    }

    #[test]
    fn scopes_from_custom_claims_in_their_order() {
        let c = claims(json!({
            "scope": "openid",
            "scp": "User.Read Tasks.Write",
            "roles": ["Tasks.Read.All", "Tasks.Write"],
            "permissions": ["read:notes", 7, null, "write:notes"],
            "other": {"scope": "x"},
        }));
        assert_eq!(
            scopes_of(&c, &["scp", "roles"]),
            ["User.Read", "Tasks.Write", "Tasks.Read.All"]
        );
        assert_eq!(
            scopes_of(&c, &["scope", "permissions"]),
            ["openid", "read:notes", "write:notes"]
        );
        // Claims that are not listed are not read; non-string shapes are ignored.
        assert!(
            scopes_of(&c, &["permissions"])
                .iter()
                .all(|s| s.contains(':'))
        );
        assert!(scopes_of(&c, &["other", "missing"]).is_empty());
    }

    #[test]
    fn required_any_claim_needs_one_non_empty_claim_of_each_group() {
        let now = 1_000_000;
        let entra = ClaimPolicy {
            required_any_claims: vec![vec!["scp".into(), "roles".into()]],
            ..policy()
        };
        let base =
            json!({"iss": "https://as.example", "aud": "https://api.example/mcp", "exp": now + 60});
        let with = |k: &str, v: Value| {
            let mut c = claims(base.clone());
            c.insert(k.into(), v);
            c
        };
        assert!(entra.check(&with("scp", "read".into()), now).is_ok());
        assert!(entra.check(&with("roles", json!(["Admin"])), now).is_ok());
        let err = entra.check(&claims(base.clone()), now).unwrap_err();
        assert_eq!(
            err.description(),
            "The access token carries none of the claims `scp`, `roles` (one is required)."
        );
        for empty in [json!(""), json!("  "), json!([]), json!({}), Value::Null] {
            assert!(
                entra.check(&with("scp", empty.clone()), now).is_err(),
                "{empty}"
            );
        }
        assert!(entra.check(&with("scope", "read".into()), now).is_err());
    }

    #[test]
    fn issuer_hints_name_only_configured_values() {
        let okta = TrustedIssuer {
            hints: vec![IssuerHint {
                iss: "https://org.example".into(),
                description:
                    "Use the custom authorization server `https://org.example/oauth2/default`."
                        .into(),
            }],
            ..TrustedIssuer::exact("https://org.example/oauth2/default")
        };
        let err = untrusted_issuer("https://org.example", [&okta]);
        assert_eq!(
            err.description(),
            "Use the custom authorization server `https://org.example/oauth2/default`."
        );
        // Anything else keeps the generic or trailing-slash descriptions.
        let other = untrusted_issuer("https://org.example/", [&okta]);
        assert_eq!(
            other.description(),
            "The token was issued by an untrusted issuer."
        );
        let slash = untrusted_issuer("https://org.example/oauth2/default/", [&okta]);
        assert!(
            slash
                .description()
                .ends_with("did you mean `https://org.example/oauth2/default`?")
        );
    }
}
