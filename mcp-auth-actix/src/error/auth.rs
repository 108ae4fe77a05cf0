//! [`AuthError`]: why a request's credentials were refused (401, 403, 503,
//! 500) and the response that says so: status, `WWW-Authenticate`
//! challenges (Bearer, and DPoP where enabled), JSON body.

use std::{borrow::Cow, fmt, sync::Arc};

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
};
use serde_json::{Map, Value};

use super::challenge::{bearer_challenge, challenge, join_scopes};
use crate::{dpop::DpopError, resource::ResourceContext, web::extract::Scheme};

/// The class of a per-request authentication failure; decides the status code
/// and the RFC 6750 `error` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// No credentials (no `Authorization` header, or a non-Bearer scheme):
    /// 401 with a challenge that carries no `error` (RFC 6750 §3.1).
    MissingToken,
    /// Malformed `Authorization` header or several credentials: 400 `invalid_request`.
    InvalidRequest,
    /// The token is invalid, expired, for another audience or issuer: 401 `invalid_token`.
    InvalidToken,
    /// The token lacks required scopes: 403 `insufficient_scope`.
    InsufficientScope,
    /// A needed key or metadata could not be fetched: 503, no challenge.
    Unavailable,
    /// A server-side misconfiguration detected at request time: 500.
    ServerError,
}

impl AuthErrorKind {
    /// The status code of this kind.
    pub fn status(self) -> StatusCode {
        match self {
            Self::MissingToken | Self::InvalidToken => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest => StatusCode::BAD_REQUEST,
            Self::InsufficientScope => StatusCode::FORBIDDEN,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The `error` code used in the JSON body (and, where RFC 6750 defines
    /// one, in the challenge).
    pub fn code(self) -> &'static str {
        match self {
            Self::MissingToken => "unauthorized",
            Self::InvalidRequest => "invalid_request",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::Unavailable => "temporarily_unavailable",
            Self::ServerError => "server_error",
        }
    }
}

/// Why a request was refused, in one word: a bounded label for metrics and
/// logs (see `crate::metrics`), fixed where the error is made and never
/// taken from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// Nothing finer than the kind (missing token, insufficient scope).
    Unspecified,
    /// A malformed or repeated `Authorization` header.
    Header,
    /// Not a compact JWS with JSON header and payload.
    Malformed,
    /// Over `JwtOptions::max_token_bytes`.
    TooLarge,
    /// A signing algorithm that is not allowed.
    Algorithm,
    /// A `crit` header.
    Critical,
    /// Not an access token (`typ`, or introspection's `token_type` …).
    TokenType,
    /// Missing, malformed or untrusted `iss`.
    Issuer,
    /// No published key for the token's `kid`/`alg`.
    UnknownKey,
    /// The signature does not verify.
    Signature,
    /// `exp` has passed.
    Expired,
    /// `nbf` or `iat` in the future.
    NotYetValid,
    /// `aud` does not name the resource.
    Audience,
    /// Another claim missing, out of range or of the wrong type.
    Claims,
    /// Introspection says `active: false`.
    Inactive,
    /// A custom verifier refused the token.
    Rejected,
    /// The JWKS could not be fetched.
    Jwks,
    /// The authorization server's metadata could not be fetched.
    Discovery,
    /// The introspection endpoint could not be reached.
    Introspection,
    /// A custom verifier was unavailable.
    Verifier,
    /// A server-side configuration problem.
    Config,
}

/// A per-request authentication or authorization failure.
///
/// Implements [`ResponseError`]: the response carries the status of its
/// [`AuthErrorKind`], a `WWW-Authenticate: Bearer ...` challenge with
/// `resource_metadata` (and `scope` where useful), and a JSON body
/// `{"error": ..., "error_description": ...}`. The token itself never appears.
#[derive(Debug, Clone)]
pub struct AuthError {
    kind: AuthErrorKind,
    reason: Reason,
    description: Cow<'static, str>,
    cause: Option<String>,
    scope: Option<String>,
    context: Option<Arc<ResourceContext>>,
    /// The scheme the request used (`None`: no credentials, or outside a
    /// request): the challenge of that scheme carries the error.
    scheme: Option<Scheme>,
    /// A refusal of the DPoP proof or binding (RFC 9449 §7.1, §9).
    dpop: Option<Box<DpopRefusal>>,
}

/// Why a DPoP proof or binding was refused: the `error` of the `DPoP`
/// challenge, a bounded label, and the nonce to send.
#[derive(Debug, Clone)]
pub(crate) struct DpopRefusal {
    /// `invalid_dpop_proof`, `use_dpop_nonce` or `invalid_token`; `None`
    /// for a 5xx.
    pub(crate) code: Option<&'static str>,
    /// The metrics `reason` label.
    pub(crate) reason: &'static str,
    /// The `DPoP-Nonce` response header (with `use_dpop_nonce`).
    pub(crate) nonce: Option<String>,
}

impl AuthError {
    pub(crate) fn new(
        kind: AuthErrorKind,
        reason: Reason,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            kind,
            reason,
            description: description.into(),
            cause: None,
            scope: None,
            context: None,
            scheme: None,
            dpop: None,
        }
    }

    /// A refused DPoP proof (or binding, or a replay store that could not
    /// answer: 503, fail closed).
    pub(crate) fn dpop(err: DpopError) -> Self {
        let kind = match err {
            DpopError::Unavailable(_) => AuthErrorKind::Unavailable,
            DpopError::NoBackend => AuthErrorKind::ServerError,
            _ => AuthErrorKind::InvalidToken,
        };
        let reason = match err {
            DpopError::Unavailable(_) | DpopError::NoBackend => Reason::Config,
            _ => Reason::Unspecified,
        };
        let mut out = Self::new(kind, reason, err.description());
        if let DpopError::Unavailable(cause) = &err {
            out = out.with_cause(cause);
        }
        out.scheme = Some(Scheme::Dpop);
        out.dpop = Some(Box::new(DpopRefusal {
            code: err.error_code(),
            reason: err.reason(),
            nonce: err.nonce().map(str::to_owned),
        }));
        out
    }

    /// An `invalid_dpop_proof` found by the guard (the `DPoP` header
    /// itself: missing, repeated, not text).
    pub(crate) fn invalid_dpop_header(reason: &'static str, description: &'static str) -> Self {
        let mut out = Self::new(
            AuthErrorKind::InvalidToken,
            Reason::Unspecified,
            description,
        );
        out.scheme = Some(Scheme::Dpop);
        out.dpop = Some(Box::new(DpopRefusal {
            code: Some("invalid_dpop_proof"),
            reason,
            nonce: None,
        }));
        out
    }

    /// An `invalid_token` about how the token was presented (a bound token
    /// as `Bearer`, an unbound one as `DPoP`, `Bearer` where DPoP is
    /// required), counted with the DPoP `reason` label.
    pub(crate) fn dpop_token(reason: &'static str, description: &'static str) -> Self {
        let mut out = Self::new(
            AuthErrorKind::InvalidToken,
            Reason::Unspecified,
            description,
        );
        out.dpop = Some(Box::new(DpopRefusal {
            code: Some("invalid_token"),
            reason,
            nonce: None,
        }));
        out
    }

    /// Records the scheme the request used, unless one is already set.
    pub(crate) fn presented(mut self, scheme: Scheme) -> Self {
        if self.scheme.is_none() {
            self.scheme = Some(scheme);
        }
        self
    }

    /// The DPoP refusal, if this is one.
    pub(crate) fn dpop_refusal(&self) -> Option<&DpopRefusal> {
        self.dpop.as_deref()
    }

    pub(crate) fn missing_token() -> Self {
        Self::new(
            AuthErrorKind::MissingToken,
            Reason::Unspecified,
            "An access token is required: send it as `Authorization: Bearer <token>`.",
        )
    }

    pub(crate) fn invalid_request(description: &'static str) -> Self {
        Self::new(AuthErrorKind::InvalidRequest, Reason::Header, description)
    }

    pub(crate) fn invalid_token(reason: Reason, description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(AuthErrorKind::InvalidToken, reason, description)
    }

    pub(crate) fn insufficient_scope(needed: &[impl AsRef<str>]) -> Self {
        let scope = join_scopes(needed);
        Self::new(
            AuthErrorKind::InsufficientScope,
            Reason::Unspecified,
            "The access token does not grant the scopes this request needs.",
        )
        .with_scope(scope)
    }

    /// `source` says what could not be reached (`Reason::Jwks`, …).
    pub(crate) fn unavailable(source: Reason, cause: impl fmt::Display) -> Self {
        Self::new(
            AuthErrorKind::Unavailable,
            source,
            "The authorization server's keys or metadata are unavailable; try again later.",
        )
        .with_cause(cause)
    }

    pub(crate) fn server_error(cause: impl fmt::Display) -> Self {
        Self::new(
            AuthErrorKind::ServerError,
            Reason::Config,
            "The protected resource is misconfigured.",
        )
        .with_cause(cause)
    }

    /// Detail for logs and for `show_error_details` bodies; never sent in headers.
    pub(crate) fn with_cause(mut self, cause: impl fmt::Display) -> Self {
        self.cause = Some(cause.to_string());
        self
    }

    pub(crate) fn with_scope(mut self, scope: String) -> Self {
        self.scope = (!scope.is_empty()).then_some(scope);
        self
    }

    /// Attaches the resource context unless one is already set.
    pub(crate) fn in_context(mut self, context: &Arc<ResourceContext>) -> Self {
        if self.context.is_none() {
            self.context = Some(context.clone());
        }
        self
    }

    /// The `error` code of the response: the kind's, or RFC 9449's
    /// `invalid_dpop_proof` / `use_dpop_nonce` for a refused DPoP proof.
    pub fn error_code(&self) -> &'static str {
        self.dpop
            .as_ref()
            .and_then(|d| d.code)
            .unwrap_or(self.kind.code())
    }

    /// The nonce to send in a `DPoP-Nonce` header (with `use_dpop_nonce`,
    /// RFC 9449 §9). Keep it when you replace the response.
    pub fn dpop_nonce(&self) -> Option<&str> {
        self.dpop.as_ref().and_then(|d| d.nonce.as_deref())
    }

    /// The class of failure.
    pub fn kind(&self) -> AuthErrorKind {
        self.kind
    }

    /// Why, as a bounded label.
    pub(crate) fn reason(&self) -> Reason {
        self.reason
    }

    /// Human-readable description (also sent as `error_description`).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Internal detail (verifier message, fetch error); sent to clients only
    /// when `show_error_details` is on.
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// The `scope` parameter of the challenge, if any.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// The absolute URL of the protected resource metadata, if known.
    pub fn resource_metadata(&self) -> Option<&str> {
        self.context.as_ref().map(|c| c.resource_metadata.as_str())
    }

    /// The `WWW-Authenticate` header value, or `None` for 5xx errors. When
    /// the resource accepts DPoP this holds two challenges (`Bearer …,
    /// DPoP …`, RFC 9110 §11.6.1; only `DPoP` when DPoP is required); the
    /// response itself sends them as two header values, Bearer first.
    pub fn www_authenticate(&self) -> Option<String> {
        let challenges = self.challenges();
        (!challenges.is_empty()).then(|| challenges.join(", "))
    }

    /// The challenges, `Bearer` first: the one of the scheme the request
    /// used carries `error` (the `DPoP` one when the proof was refused).
    pub(crate) fn challenges(&self) -> Vec<String> {
        let error = match self.kind {
            AuthErrorKind::Unavailable | AuthErrorKind::ServerError => return Vec::new(),
            // RFC 6750 §3.1: no error information without authentication data.
            AuthErrorKind::MissingToken => None,
            _ => Some([
                ("error", self.error_code()),
                ("error_description", self.description.as_ref()),
            ]),
        };
        let dpop = self.context.as_ref().and_then(|c| c.dpop.as_ref());
        let bearer_offered = dpop.is_none_or(|d| d.bearer);
        let error_on_dpop =
            dpop.is_some() && (self.scheme == Some(Scheme::Dpop) || !bearer_offered);
        let mut common: Vec<(&str, &str)> = Vec::with_capacity(2);
        if let Some(scope) = &self.scope {
            common.push(("scope", scope));
        }
        if let Some(ctx) = &self.context {
            common.push(("resource_metadata", &ctx.resource_metadata));
        }
        let mut out = Vec::with_capacity(2);
        if bearer_offered {
            let mut params: Vec<(&str, &str)> = Vec::with_capacity(4);
            if !error_on_dpop {
                params.extend(error.iter().flatten());
            }
            params.extend(&common);
            out.push(bearer_challenge(&params));
        }
        if let Some(dpop) = dpop {
            let mut params: Vec<(&str, &str)> = vec![("algs", &dpop.algs)];
            if error_on_dpop {
                params.extend(error.iter().flatten());
            }
            params.extend(&common);
            out.push(challenge("DPoP", &params));
        }
        out
    }

    /// The JSON body sent with the error.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("error".into(), self.error_code().into());
        body.insert("error_description".into(), self.description.as_ref().into());
        if let Some(scope) = &self.scope {
            body.insert("scope".into(), scope.as_str().into());
        }
        let show = self.context.as_ref().is_some_and(|c| c.show_error_details);
        if let (true, Some(cause)) = (show, &self.cause) {
            body.insert("cause".into(), cause.as_str().into());
        }
        Value::Object(body)
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.description)?;
        if let Some(cause) = &self.cause {
            write!(f, " ({cause})")?;
        }
        Ok(())
    }
}

impl std::error::Error for AuthError {}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        self.kind.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        for challenge in self.challenges() {
            res.append_header((header::WWW_AUTHENTICATE, challenge));
        }
        if self.kind == AuthErrorKind::Unavailable {
            res.insert_header((header::RETRY_AFTER, "5"));
        }
        let expose = match self.dpop_nonce() {
            Some(nonce) => {
                res.insert_header(("DPoP-Nonce", nonce));
                "WWW-Authenticate, DPoP-Nonce"
            }
            None => "WWW-Authenticate",
        };
        res.insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .insert_header((header::ACCESS_CONTROL_EXPOSE_HEADERS, expose))
            .json(self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_values_cannot_escape_quotes() {
        let header = bearer_challenge(&[("error_description", "bad \"token\" \\ é\r\nX: y")]);
        assert_eq!(header, "Bearer error_description=\"bad ?token? ? ???X: y\"");
    }

    #[test]
    fn missing_token_challenge_has_no_error_code() {
        let ctx = Arc::new(ResourceContext {
            resource_metadata: "https://a.example/.well-known/oauth-protected-resource/mcp".into(),
            ..Default::default()
        });
        let err = AuthError::missing_token()
            .with_scope("read write".into())
            .in_context(&ctx);
        assert_eq!(
            err.www_authenticate().unwrap(),
            "Bearer scope=\"read write\", resource_metadata=\"https://a.example/.well-known/oauth-protected-resource/mcp\""
        );
        assert_eq!(err.kind().status(), StatusCode::UNAUTHORIZED);
    }

    fn dpop_context(bearer: bool) -> Arc<ResourceContext> {
        Arc::new(ResourceContext {
            resource_metadata: "https://a.example/.well-known/oauth-protected-resource".into(),
            dpop: Some(crate::resource::DpopChallenge {
                algs: "ES256 EdDSA".into(),
                bearer,
                nonces: None,
            }),
            ..Default::default()
        })
    }

    #[test]
    fn dpop_challenges_put_the_error_on_the_scheme_used() {
        use crate::dpop::{Check, DpopError};
        let md = "resource_metadata=\"https://a.example/.well-known/oauth-protected-resource\"";
        let allowed = dpop_context(true);
        // No credentials: both challenges, no error, Bearer first.
        let err = AuthError::missing_token().in_context(&allowed);
        assert_eq!(
            err.challenges(),
            [
                format!("Bearer {md}"),
                format!("DPoP algs=\"ES256 EdDSA\", {md}")
            ]
        );
        assert_eq!(err.www_authenticate().unwrap(), err.challenges().join(", "));
        // An invalid token sent as Bearer: the error is on Bearer.
        let err = AuthError::invalid_token(Reason::Expired, "expired")
            .presented(Scheme::Bearer)
            .in_context(&allowed);
        assert_eq!(
            err.challenges(),
            [
                format!("Bearer error=\"invalid_token\", error_description=\"expired\", {md}"),
                format!("DPoP algs=\"ES256 EdDSA\", {md}"),
            ]
        );
        // A refused proof: on DPoP, with its own code in the body too.
        let err = AuthError::dpop(DpopError::Invalid(Check::Method)).in_context(&allowed);
        assert_eq!(err.challenges()[0], format!("Bearer {md}"));
        assert!(err.challenges()[1].starts_with(
            "DPoP algs=\"ES256 EdDSA\", error=\"invalid_dpop_proof\", error_description="
        ));
        assert_eq!(err.body()["error"], "invalid_dpop_proof");
        assert_eq!(err.kind().status(), StatusCode::UNAUTHORIZED);
        // A nonce: `use_dpop_nonce`, and the nonce for the header.
        let err = AuthError::dpop(DpopError::UseNonce { nonce: "n1".into() }).in_context(&allowed);
        assert_eq!(err.dpop_nonce(), Some("n1"));
        assert_eq!(err.error_code(), "use_dpop_nonce");
        let res = err.error_response();
        assert_eq!(res.headers().get("DPoP-Nonce").unwrap(), "n1");
        assert_eq!(res.headers().get_all(header::WWW_AUTHENTICATE).count(), 2);
        // The replay store down: 503, no challenge.
        let err = AuthError::dpop(DpopError::Unavailable(crate::ReplayError::new("down")))
            .in_context(&allowed);
        assert_eq!(err.kind().status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(err.challenges().is_empty());
        // DPoP required: only the DPoP challenge, carrying every error.
        let required = dpop_context(false);
        let err = AuthError::invalid_token(Reason::Expired, "expired")
            .presented(Scheme::Bearer)
            .in_context(&required);
        assert_eq!(
            err.challenges(),
            [format!(
                "DPoP algs=\"ES256 EdDSA\", error=\"invalid_token\", error_description=\"expired\", {md}"
            )]
        );
    }

    #[test]
    fn cause_only_with_details() {
        let mut ctx = ResourceContext {
            resource_metadata: "https://a.example/.well-known/oauth-protected-resource".into(),
            ..Default::default()
        };
        let err = AuthError::invalid_token(Reason::Expired, "The access token is expired.")
            .with_cause("exp=1");
        let hidden = err.clone().in_context(&Arc::new(ctx));
        assert!(hidden.body().get("cause").is_none());
        ctx = ResourceContext {
            show_error_details: true,
            ..Default::default()
        };
        let shown = err.in_context(&Arc::new(ctx));
        assert_eq!(shown.body()["cause"], "exp=1");
    }
}
