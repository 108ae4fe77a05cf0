//! [`AuthInfo`]: the verified caller, as handlers see it.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde::{Serialize, de::DeserializeOwned, ser::SerializeStruct};
use serde_json::{Map, Value};

use crate::{error::AuthError, resource::ResourceContext, verify::scopes_of};

/// The verified access token of a request: issuer, client, subject, scopes,
/// audience, expiry and all claims. Cheap to clone (one `Arc`).
///
/// Take it as a handler argument (`auth: AuthInfo`, or `Option<AuthInfo>`
/// where authentication is optional). The raw token is available only
/// through [`token`](Self::token); `Debug` redacts it and `Serialize` omits it.
#[derive(Clone)]
pub struct AuthInfo(Arc<Inner>);

struct Inner {
    /// Shared with the verified-token cache entry (stored once).
    token: Arc<str>,
    issuer: String,
    client_id: Option<String>,
    subject: Option<String>,
    scopes: Vec<String>,
    audience: Vec<String>,
    expires_at: Option<u64>,
    /// Whether the token has a `cnf` claim (bound to a key).
    bound: bool,
    /// The `cnf.jkt` of a DPoP-bound token.
    dpop_jkt: Option<String>,
    claims: Map<String, Value>,
    resource: String,
    context: Arc<ResourceContext>,
}

fn string_claim(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl AuthInfo {
    pub(crate) fn from_claims(
        token: Arc<str>,
        claims: Map<String, Value>,
        resource: &str,
        context: &Arc<ResourceContext>,
    ) -> Self {
        let audience = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        let (bound, dpop_jkt) = match crate::dpop::binding(&claims) {
            crate::dpop::Binding::Unbound => (false, None),
            crate::dpop::Binding::Jkt(jkt) => (true, Some(jkt.to_owned())),
            crate::dpop::Binding::Unsupported => (true, None),
        };
        Self(Arc::new(Inner {
            bound,
            dpop_jkt,
            token,
            issuer: string_claim(&claims, "iss").unwrap_or_default(),
            client_id: ["client_id", "azp", "appid", "cid"]
                .into_iter()
                .find_map(|name| string_claim(&claims, name)),
            subject: string_claim(&claims, "sub"),
            scopes: scopes_of(&claims, &context.scope_claims),
            audience,
            expires_at: claims
                .get("exp")
                .and_then(Value::as_f64)
                .filter(|e| (0.0..=crate::verify::MAX_NUMERIC_DATE).contains(e))
                .map(|e| e as u64),
            claims,
            resource: resource.to_owned(),
            context: context.clone(),
        }))
    }

    /// The `iss` claim (empty for introspection results without one).
    pub fn issuer(&self) -> &str {
        &self.0.issuer
    }

    /// The client: `client_id`, falling back to `azp` (Auth0, Entra ID v2,
    /// Keycloak), then `appid` (Entra ID v1), then `cid` (Okta).
    pub fn client_id(&self) -> Option<&str> {
        self.0.client_id.as_deref()
    }

    /// The `sub` claim.
    pub fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }

    /// Granted scopes, from the resource's
    /// [`scope_claims`](crate::ResourceConfig::scope_claims) (default `scope`
    /// and `scp`).
    pub fn scopes(&self) -> &[String] {
        &self.0.scopes
    }

    /// Whether `scope` was granted, directly or through a broader scope that
    /// implies it ([`ResourceConfig::scope_implies`](crate::ResourceConfig::scope_implies);
    /// MCP 2026-07-28 requires honouring scope hierarchies).
    pub fn has_scope(&self, scope: &str) -> bool {
        let ctx = &self.0.context;
        self.0
            .scopes
            .iter()
            .any(|granted| ctx.satisfies(granted, scope))
    }

    /// The RFC 7638 thumbprint of the key this token is bound to (its
    /// `cnf.jkt`, RFC 9449 §6): the request carried a valid DPoP proof by
    /// that key. `None` for a bearer token.
    pub fn dpop_jkt(&self) -> Option<&str> {
        self.0.dpop_jkt.as_deref()
    }

    /// Whether the token is bound to a key (any `cnf` claim): such a token
    /// is never accepted as a bearer token.
    pub(crate) fn is_bound(&self) -> bool {
        self.0.bound
    }

    /// The `aud` values.
    pub fn audience(&self) -> &[String] {
        &self.0.audience
    }

    /// The resource identifier this token was verified for.
    pub fn resource(&self) -> &str {
        &self.0.resource
    }

    /// When the token expires (`exp`).
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.0
            .expires_at
            .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
    }

    /// Whether this caller was verified for `resource` (the same
    /// configured resource, not merely an equal identifier).
    /// What the token's resource says in challenges and responses.
    pub(crate) fn context(&self) -> &ResourceContext {
        &self.0.context
    }

    /// The session bindings of the token's resource, when enabled.
    pub(crate) fn sessions(&self) -> Option<&crate::web::sessions::SessionBindings> {
        self.0.context.sessions.as_deref()
    }

    pub(crate) fn is_for(&self, resource: &crate::verify::resource::ProtectedResource) -> bool {
        Arc::ptr_eq(&self.0.context, &resource.context)
    }

    pub(crate) fn expires_at_secs(&self) -> Option<u64> {
        self.0.expires_at
    }

    /// Every claim of the token.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.0.claims
    }

    /// The claims deserialized into your own type, e.g. for custom claims.
    pub fn claims_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&Value::Object(self.0.claims.clone()))
    }

    /// The raw bearer token. Do not forward it to upstream APIs (MCP forbids
    /// token passthrough) and do not log it.
    pub fn token(&self) -> &str {
        &self.0.token
    }

    /// Step-up authorization inside a handler: `Ok` when every scope in
    /// `required` was granted (directly or through a scope hierarchy), else
    /// the same 403 `insufficient_scope` challenge the guard sends. Its
    /// `scope` lists the granted scopes and every scope in `required`, in
    /// one challenge: all the operation needs (MCP 2026-07-28) plus what the
    /// client already holds (MCP 2025-11-25's recommended approach, so a
    /// re-authorization keeps its permissions). `offline_access` is never
    /// listed (MCP 2026-07-28).
    pub fn require_scopes<S: AsRef<str>>(&self, required: &[S]) -> Result<(), AuthError> {
        if required.iter().all(|s| self.has_scope(s.as_ref())) {
            return Ok(());
        }
        let mut scope: Vec<&str> = Vec::new();
        let granted = self.0.scopes.iter().map(String::as_str);
        for s in granted.chain(required.iter().map(AsRef::as_ref)) {
            if s != "offline_access" && !scope.contains(&s) {
                scope.push(s);
            }
        }
        // A DPoP-bound token was accepted only with the DPoP scheme: the
        // error goes on that challenge.
        let scheme = match self.0.dpop_jkt {
            Some(_) => crate::web::extract::Scheme::Dpop,
            None => crate::web::extract::Scheme::Bearer,
        };
        Err(AuthError::insufficient_scope(&scope)
            .presented(scheme)
            .in_context(&self.0.context))
    }
}

impl fmt::Debug for AuthInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthInfo")
            .field("issuer", &self.0.issuer)
            .field("client_id", &self.0.client_id)
            .field("subject", &self.0.subject)
            .field("scopes", &self.0.scopes)
            .field("audience", &self.0.audience)
            .field("expires_at", &self.0.expires_at)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Serializes everything but the token.
impl Serialize for AuthInfo {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("AuthInfo", 7)?;
        s.serialize_field("issuer", &self.0.issuer)?;
        s.serialize_field("client_id", &self.0.client_id)?;
        s.serialize_field("subject", &self.0.subject)?;
        s.serialize_field("scopes", &self.0.scopes)?;
        s.serialize_field("audience", &self.0.audience)?;
        s.serialize_field("expires_at", &self.0.expires_at)?;
        s.serialize_field("claims", &self.0.claims)?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn info() -> AuthInfo {
        let claims = json!({"iss": "https://as", "azp": "app", "sub": "u1", "scope": "a b",
            "aud": ["https://api/mcp"], "exp": 2_000_000_000u64, "tenant": "t"});
        let ctx = Arc::new(ResourceContext {
            resource_metadata: "https://api/.well-known/oauth-protected-resource/mcp".into(),
            implied_scopes: [("admin".to_owned(), vec!["c".to_owned()])].into(),
            ..Default::default()
        });
        AuthInfo::from_claims(
            "secret.token.value".into(),
            claims.as_object().unwrap().clone(),
            "https://api/mcp",
            &ctx,
        )
    }

    #[test]
    fn fields_and_redaction() {
        let a = info();
        assert_eq!(a.client_id(), Some("app"));
        assert_eq!(a.scopes(), ["a", "b"]);
        assert_eq!(a.token(), "secret.token.value");
        assert!(!format!("{a:?}").contains("secret"));
        assert!(!serde_json::to_string(&a).unwrap().contains("secret"));
        #[derive(serde::Deserialize)]
        struct Custom {
            tenant: String,
        }
        assert_eq!(a.claims_as::<Custom>().unwrap().tenant, "t");
    }

    #[test]
    fn client_id_falls_back_to_azp_appid_then_cid_and_scopes_follow_the_context() {
        let ctx = Arc::new(ResourceContext {
            scope_claims: vec!["scp".into(), "roles".into()],
            ..Default::default()
        });
        let of = |claims: Value| {
            AuthInfo::from_claims(
                "t".into(),
                claims.as_object().unwrap().clone(),
                "https://api/mcp",
                &ctx,
            )
        };
        let okta = of(json!({"cid": "okta-app", "scp": ["a", "b"], "scope": "ignored"}));
        assert_eq!(okta.client_id(), Some("okta-app"));
        assert_eq!(okta.scopes(), ["a", "b"]);
        let both = of(json!({"azp": "azp-app", "cid": "okta-app", "roles": ["r"]}));
        assert_eq!(both.client_id(), Some("azp-app"));
        assert_eq!(both.scopes(), ["r"]);
        let first = of(json!({"client_id": "c", "azp": "a", "cid": ""}));
        assert_eq!(first.client_id(), Some("c"));
        assert_eq!(of(json!({"cid": ""})).client_id(), None);
        let entra_v1 = of(json!({"appid": "v1-app", "cid": "x"}));
        assert_eq!(entra_v1.client_id(), Some("v1-app"));
    }

    #[test]
    fn scope_hierarchy() {
        let a = info();
        assert!(!a.has_scope("c"));
        let claims = json!({"scope": "admin", "aud": "https://api/mcp"});
        let admin = AuthInfo::from_claims(
            "t".into(),
            claims.as_object().unwrap().clone(),
            "https://api/mcp",
            &a.0.context,
        );
        assert!(admin.has_scope("c") && admin.has_scope("admin") && !admin.has_scope("a"));
        assert!(admin.require_scopes(&["c"]).is_ok());
    }

    #[test]
    fn step_up() {
        let a = info();
        assert!(a.require_scopes(&["a"]).is_ok());
        let err = a.require_scopes(&["a", "c"]).unwrap_err();
        assert_eq!(err.kind().status(), 403);
        assert_eq!(
            err.www_authenticate().unwrap(),
            "Bearer error=\"insufficient_scope\", error_description=\"The access token does not grant the scopes this request needs.\", scope=\"a b c\", resource_metadata=\"https://api/.well-known/oauth-protected-resource/mcp\""
        );
    }
}
