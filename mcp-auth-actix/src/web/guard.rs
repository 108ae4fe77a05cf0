//! The one guard behind every way of protecting a route: `.wrap(bearer)`,
//! `.app_data(bearer)` with the `AuthInfo`/`MaybeAuthInfo` extractors, and
//! `#[protected_resource]` handlers. A guard is a resource, the scopes every
//! request needs, and optionally [`OperationScopes`]; it is built once (when
//! the `BearerAuth` or `McpAuth` is configured) and shared.
//!
//! Composition fails closed: every guard on a request's path applies. A
//! caller verified by an outer guard is reused only when it was verified
//! for the same resource (the same `ProtectedResource`, not an equal
//! string), and the inner guard's scopes and operations are always checked.

use std::sync::Arc;

use actix_web::{
    HttpMessage, HttpRequest,
    dev::Payload,
    error::{InternalError, PayloadError},
    http::header,
    web::Bytes,
};
use futures_util::future::{LocalBoxFuture, ready};
use tracing::{Instrument, field::Empty};

use crate::{
    __private::ResourceDeclaration,
    AuthInfo, DpopMode, McpAuth,
    dpop::{self, Check, DpopError},
    error::{AuthError, AuthErrorKind, Misconfiguration, RequestError, join_scopes},
    metrics::{Cache, Decision, Stopwatch},
    verify::{now_secs, resource::ProtectedResource},
    web::extract::{Scheme, credentials},
    web::operations::{
        HeaderOperation, OperationScopes, check_content_encoding, drain, inspect, read_body,
    },
    web::{cors, self_check, sessions},
};

/// Turns an [`AuthError`] into the response you want (e.g. a JSON-RPC error
/// body). Keep the `WWW-Authenticate` header: MCP clients need it.
pub(crate) type ErrorHandler =
    Arc<dyn Fn(AuthError, &HttpRequest) -> actix_web::Error + Send + Sync>;

/// Whether a request without credentials may reach the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// 401 without a valid token.
    Required,
    /// `None` without credentials (invalid ones are still refused), unless
    /// the operation needs scopes.
    Optional,
}

#[derive(Clone)]
pub(crate) struct Guard {
    pub(crate) resource: Arc<ProtectedResource>,
    pub(crate) required: Vec<String>,
    pub(crate) operations: Option<OperationScopes>,
    pub(crate) error_handler: Option<ErrorHandler>,
}

/// Marks that the guard at this address read the body and checked its
/// operations, so a second extraction does not read it again.
struct OperationsChecked(usize);

/// Why a guard refused a request, kept typed until the decision is
/// recorded and the response made.
enum Refusal {
    Auth(AuthError),
    Request(RequestError),
    /// The body could not be read (over the payload limit, or broken).
    Body(actix_web::Error),
    Misconfigured(Misconfiguration),
}

impl From<AuthError> for Refusal {
    fn from(err: AuthError) -> Self {
        Self::Auth(err)
    }
}

impl From<RequestError> for Refusal {
    fn from(err: RequestError) -> Self {
        Self::Request(err)
    }
}

impl Refusal {
    fn decision(&self) -> Decision {
        match self {
            Self::Auth(err) => Decision::refused(err),
            Self::Request(err) => Decision::bad_request(err),
            Self::Body(err) => Decision::unreadable_body(err.as_response_error().status_code()),
            Self::Misconfigured(_) => Decision::MISCONFIGURED,
        }
    }
}

/// What a guard lets through.
pub(crate) struct Authorized {
    pub(crate) auth: Option<AuthInfo>,
    /// The body, when the guard read it: to be handed on unchanged.
    pub(crate) body: Option<Bytes>,
}

impl Guard {
    /// Identity of a configured guard (it lives behind an `Arc`).
    fn address(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// Whether this guard still has to read the body of `req`.
    pub(crate) fn needs_body(&self, req: &HttpRequest) -> bool {
        self.operations.is_some()
            && req
                .extensions()
                .get::<OperationsChecked>()
                .is_none_or(|c| c.0 != self.address())
    }

    /// The request's token from the verified-token cache, if it is there and
    /// grants the required scopes (a decision, recorded without a span);
    /// everything else takes the full path, which records its own.
    ///
    /// Only `Bearer` tokens: a DPoP request always takes the full path, so
    /// its proof is checked (the token may still come from the cache there).
    pub(crate) fn cached(&self, headers: &header::HeaderMap) -> Option<AuthInfo> {
        let started = Stopwatch::start();
        let dpop = self.resource.dpop.as_ref();
        let (scheme, raw) = credentials(headers, dpop.is_some()).ok()?;
        if scheme != Scheme::Bearer || dpop.is_some_and(|d| d.mode == DpopMode::Required) {
            return None;
        }
        let auth = self.resource.cached(raw)?;
        // A bound token is refused as Bearer, another caller's session is
        // not found; the full path says so.
        if auth.is_bound()
            || !self.grants_required(&auth)
            || !self.session_allowed(headers, Some(&auth))
        {
            return None;
        }
        self.resource.metrics.verified(started, Cache::Hit);
        self.accepted("hit");
        Some(auth)
    }

    /// Whether the caller may use the MCP session the request names
    /// (`web/sessions.rs`).
    fn session_allowed(&self, headers: &header::HeaderMap, auth: Option<&AuthInfo>) -> bool {
        self.resource
            .context
            .sessions
            .as_ref()
            .is_none_or(|s| s.allows(&self.resource.id, headers, auth))
    }

    /// Records a decision to let a caller through without an await.
    fn accepted(&self, cache: &'static str) {
        let decision = Decision::ACCEPTED;
        self.resource.metrics.decided(decision);
        tracing::debug!(
            resource = %self.resource.id,
            outcome = decision.outcome,
            reason = decision.reason,
            cache,
            "request authorized"
        );
    }

    fn grants_required(&self, auth: &AuthInfo) -> bool {
        self.required.iter().all(|s| auth.has_scope(s))
    }

    /// The caller an outer guard verified for this same resource, if any.
    fn stored(&self, req: &HttpRequest) -> Option<AuthInfo> {
        req.extensions()
            .get::<AuthInfo>()
            .filter(|auth| auth.is_for(&self.resource))
            .cloned()
    }

    /// A caller that needs no await: stored by an outer guard for this
    /// resource, or in the verified-token cache; with the required scopes.
    fn settled(&self, req: &HttpRequest) -> Option<AuthInfo> {
        if let Some(auth) = self.stored(req) {
            if !self.grants_required(&auth) {
                return None;
            }
            self.accepted("stored");
            return Some(auth);
        }
        let auth = self.cached(req.headers())?;
        req.extensions_mut().insert(auth.clone());
        Some(auth)
    }

    /// Verifies a token outside a request: the resource, then the required
    /// scopes (operations need a request body and are not checked).
    ///
    /// There is no request to carry a DPoP proof: the token is a bearer
    /// token (refused where DPoP is required, and when bound to a key).
    pub(crate) async fn verify(&self, raw: &[u8]) -> Result<AuthInfo, AuthError> {
        self.bearer_allowed()
            .map_err(|e| self.challenge(e.presented(Scheme::Bearer)))?;
        let auth = self
            .resource
            .verify(raw)
            .await
            .map_err(|e| self.challenge(e.presented(Scheme::Bearer)))?;
        Self::check_bearer(&auth).map_err(|e| self.challenge(e.presented(Scheme::Bearer)))?;
        auth.require_scopes(&self.required)?;
        Ok(auth)
    }

    /// `Bearer` is refused where DPoP is required.
    fn bearer_allowed(&self) -> Result<(), AuthError> {
        match &self.resource.dpop {
            Some(d) if d.mode == DpopMode::Required => Err(AuthError::dpop_token(
                "dpop_required",
                "This resource requires a DPoP-bound access token: send `Authorization: DPoP <token>` and a `DPoP` proof.",
            )),
            _ => Ok(()),
        }
    }

    /// A token bound to a key (`cnf`) is never accepted as a bearer token
    /// (RFC 9449 §7.1), whatever the resource's DPoP mode.
    fn check_bearer(auth: &AuthInfo) -> Result<(), AuthError> {
        if auth.is_bound() {
            return Err(AuthError::dpop_token(
                "bound_as_bearer",
                "This access token is bound to a key (`cnf`) and cannot be used as a bearer token.",
            ));
        }
        Ok(())
    }

    /// The checks of a token presented as `scheme`: a bearer token must be
    /// unbound; a DPoP token must be bound (`cnf.jkt`) and come with exactly
    /// one valid proof of that key, for this request (RFC 9449 §7.1). The
    /// proof is checked on every request, replay store included.
    async fn check_binding(
        &self,
        req: &HttpRequest,
        scheme: Scheme,
        auth: &AuthInfo,
    ) -> Result<(), AuthError> {
        if scheme == Scheme::Bearer {
            return Self::check_bearer(auth);
        }
        let Some(dpop) = &self.resource.dpop else {
            // `credentials` only recognizes `DPoP` where DPoP is on.
            return Err(AuthError::missing_token());
        };
        // `AuthInfo` read the binding once, from the same claims.
        let Some(jkt) = auth.dpop_jkt() else {
            return Err(AuthError::dpop_token(
                "unbound",
                "This access token is not bound to a DPoP key (`cnf.jkt`).",
            ));
        };
        let mut proofs = req.headers().get_all("dpop");
        let proof = match (proofs.next(), proofs.next()) {
            (Some(proof), None) => proof,
            (None, _) => {
                return Err(AuthError::invalid_dpop_header(
                    "missing",
                    "A DPoP proof is required: send one `DPoP` header.",
                ));
            }
            (Some(_), Some(_)) => {
                return Err(AuthError::invalid_dpop_header(
                    "multiple",
                    "Send exactly one `DPoP` header.",
                ));
            }
        };
        let proof = proof
            .to_str()
            .map_err(|_| AuthError::dpop(DpopError::Invalid(Check::Malformed)))?;
        let url = dpop.request_url(&self.resource.public_request(req), req.path());
        dpop::verify_proof(
            proof,
            req.method().as_str(),
            &url,
            Some(auth.token()),
            Some(jkt),
            &dpop.options,
            now_secs(),
        )
        .await
        .map_err(AuthError::dpop)?;
        Ok(())
    }

    /// The caller, verified for this resource and the required scopes.
    async fn caller(&self, req: &HttpRequest, mode: Mode) -> Result<Option<AuthInfo>, AuthError> {
        let auth = match self.stored(req) {
            Some(auth) => auth,
            None => {
                let dpop = self.resource.dpop.is_some();
                let (scheme, raw) = match credentials(req.headers(), dpop) {
                    Err(e) if e.kind() == AuthErrorKind::MissingToken && mode == Mode::Optional => {
                        return Ok(None);
                    }
                    other => other.map_err(|e| self.challenge(e))?,
                };
                if scheme == Scheme::Bearer {
                    self.bearer_allowed()
                        .map_err(|e| self.challenge(e.presented(scheme)))?;
                }
                // The token first (maybe from the cache), then its binding:
                // the proof itself is never cached.
                let auth = self
                    .resource
                    .verify(raw)
                    .await
                    .map_err(|e| self.challenge(e.presented(scheme)))?;
                self.check_binding(req, scheme, &auth)
                    .await
                    .map_err(|e| self.challenge(e.presented(scheme)))?;
                auth
            }
        };
        auth.require_scopes(&self.required)?;
        Ok(Some(auth))
    }

    /// Points a 401/400 at the resource's metadata and the scopes needed.
    fn challenge(&self, err: AuthError) -> AuthError {
        let err = err.in_context(&self.resource.context);
        match err.kind() {
            AuthErrorKind::MissingToken | AuthErrorKind::InvalidToken => {
                err.with_scope(join_scopes(&self.required))
            }
            _ => err,
        }
    }

    /// The operations' scopes, on top of the required ones: a 401 without
    /// a caller, else one 403 listing everything the operation needs.
    fn check_needed(&self, auth: Option<&AuthInfo>, needed: &[String]) -> Result<(), AuthError> {
        if needed.is_empty() {
            return Ok(());
        }
        let all: Vec<&str> = self
            .required
            .iter()
            .chain(needed)
            .map(String::as_str)
            .collect();
        match auth {
            Some(auth) => auth.require_scopes(&all),
            None => Err(AuthError::missing_token()
                .in_context(&self.resource.context)
                .with_scope(join_scopes(&all))),
        }
    }

    /// The response to a refusal (an [`AuthError`] through the error
    /// handler, if one is set).
    fn respond(&self, refusal: Refusal, req: &HttpRequest) -> actix_web::Error {
        match refusal {
            Refusal::Auth(err) => {
                // Never log the token; the description is enough.
                tracing::debug!(error = %err, "request rejected");
                match &self.error_handler {
                    Some(handler) => handler(err, req),
                    None => err.into(),
                }
            }
            Refusal::Request(err) => err.into(),
            Refusal::Body(err) => err,
            Refusal::Misconfigured(misconfiguration) => misconfiguration.error(),
        }
    }

    /// The whole check: the caller, then (given the body) the operations,
    /// in one `mcp_auth.verify` span that records the decision.
    /// A refused request's unread body is drained (when small), so the
    /// connection stays open for the client's next, authorized, request.
    pub(crate) async fn authorize(
        self: Arc<Self>,
        req: HttpRequest,
        mut body: Option<Payload>,
        mode: Mode,
    ) -> Result<Authorized, actix_web::Error> {
        self_check::first_request(&self.resource, &req);
        let span = tracing::debug_span!(
            "mcp_auth.verify",
            resource = %self.resource.id,
            outcome = Empty,
            reason = Empty,
        );
        let result = self
            .check(&req, &mut body, mode)
            .instrument(span.clone())
            .await;
        let decision = match &result {
            Ok(Authorized { auth: None, .. }) => Decision::ANONYMOUS,
            Ok(_) => Decision::ACCEPTED,
            Err(refusal) => refusal.decision(),
        };
        span.record("outcome", decision.outcome)
            .record("reason", decision.reason);
        self.resource.metrics.decided(decision);
        let refusal = match result {
            Ok(authorized) => return Ok(authorized),
            Err(refusal) => refusal,
        };
        if let Some(payload) = body {
            drain(&req, payload).await;
        }
        Err(span.in_scope(|| self.respond(refusal, &req)))
    }

    async fn check(
        &self,
        req: &HttpRequest,
        body: &mut Option<Payload>,
        mode: Mode,
    ) -> Result<Authorized, Refusal> {
        let auth = self.caller(req, mode).await?;
        if !self.session_allowed(req.headers(), auth.as_ref()) {
            return Err(sessions::not_found().into());
        }
        let mut read = None;
        if let Some(operations) = &self.operations
            && body.is_some()
        {
            // MCP 2026-07-28: authorize from the headers before reading the
            // body; the body must then say the same.
            let announced = HeaderOperation::from_headers(req.headers())?;
            if let Some(announced) = &announced {
                let needed = operations
                    .needed(&[announced.as_operation()])
                    .map_err(|_| Refusal::Misconfigured(Misconfiguration::InvalidComputedScope))?;
                self.check_needed(auth.as_ref(), &needed)?;
            }
            check_content_encoding(req)?;
            let payload = body.take().unwrap_or(Payload::None);
            let bytes = read_body(req, payload).await.map_err(Refusal::Body)?;
            let needed = inspect(operations, &bytes, announced.as_ref())?
                .map_err(|_| Refusal::Misconfigured(Misconfiguration::InvalidComputedScope))?;
            self.check_needed(auth.as_ref(), &needed)?;
            req.extensions_mut()
                .insert(OperationsChecked(self.address()));
            read = Some(bytes);
        }
        if let Some(auth) = &auth {
            req.extensions_mut().insert(auth.clone());
        }
        Ok(Authorized { auth, body: read })
    }

    /// Runs the guard as an extractor (the entry points answer preflights
    /// first, see [`preflight`]). When it must read the body, it takes
    /// the payload now (extractors are created in argument order, so a guard
    /// that comes first sees the body before any other extractor) and hands
    /// the same bytes to the next extractors once they are authorized.
    pub(crate) fn extract(
        self: &Arc<Self>,
        req: &HttpRequest,
        payload: &mut Payload,
        mode: Mode,
    ) -> LocalBoxFuture<'static, Result<Option<AuthInfo>, actix_web::Error>> {
        let needs_body = self.needs_body(req);
        if !needs_body && let Some(auth) = self.settled(req) {
            // Verified before (by an outer guard or the cache): no await.
            return Box::pin(ready(Ok(Some(auth))));
        }
        let mut body = None;
        let mut forward = None;
        if needs_body {
            let taken = payload.take();
            if matches!(taken, Payload::None) && declares_body(req) {
                self.resource.metrics.decided(Decision::MISCONFIGURED);
                return Box::pin(ready(Err(Misconfiguration::BodyAlreadyRead.error())));
            }
            let (tx, rx) = tokio::sync::oneshot::channel::<Bytes>();
            let stream = futures_util::stream::once(async move {
                rx.await.map_err(|_| PayloadError::Incomplete(None))
            });
            *payload = Payload::Stream {
                payload: Box::pin(stream),
            };
            body = Some(taken);
            forward = Some(tx);
        }
        let guard = self.clone();
        let req = req.clone();
        Box::pin(async move {
            let authorized = guard.authorize(req, body, mode).await?;
            if let (Some(tx), Some(bytes)) = (forward, authorized.body) {
                // The receiver is gone only when no extractor reads the body.
                let _ = tx.send(bytes);
            }
            Ok(authorized.auth)
        })
    }
}

/// Whether the request announces a body (so an empty payload means another
/// extractor already took it).
fn declares_body(req: &HttpRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

/// A CORS preflight, answered by an extractor as an "error" whose response
/// is the 204: the handler never runs.
pub(crate) fn preflight(
    req: &HttpRequest,
) -> Option<LocalBoxFuture<'static, Result<Option<AuthInfo>, actix_web::Error>>> {
    cors::is_preflight(req).then(|| {
        let answer = InternalError::from_response("CORS preflight", cors::preflight(req, None));
        Box::pin(ready(Err(answer.into()))) as LocalBoxFuture<'static, _>
    })
}

/// What every response of a protected handler gets, under `.wrap(guard)`
/// and `#[protected_resource]` alike (an extractor alone never sees the
/// response): CORS for browser clients, the session a response opens bound
/// to its caller, and a fresh `DPoP-Nonce` for a DPoP caller when the
/// resource uses server nonces (RFC 9449 §8.2, saving the client a 401).
pub(crate) fn protected_response(
    req: &HttpRequest,
    status: actix_web::http::StatusCode,
    headers: &mut header::HeaderMap,
) {
    if req.headers().contains_key(header::ORIGIN) {
        cors::expose(headers);
    }
    sessions::after_response(req, status, headers);
    if !status.is_success() {
        return;
    }
    // Only a DPoP caller of a resource with server nonces gets one.
    let nonce = req.extensions().get::<AuthInfo>().and_then(|auth| {
        auth.dpop_jkt()?;
        let key = auth.context().dpop.as_ref()?.nonces.as_ref()?;
        dpop::nonce::issue(key, now_secs()).ok()
    });
    const DPOP_NONCE: header::HeaderName = header::HeaderName::from_static("dpop-nonce");
    if let Some(nonce) = nonce.and_then(|n| header::HeaderValue::from_str(&n).ok())
        && !headers.contains_key(&DPOP_NONCE)
    {
        headers.insert(DPOP_NONCE, nonce);
    }
}

/// The guard of a `#[protected_resource]` handler, from the `McpAuth` in
/// app data.
pub(crate) fn declared(
    req: &HttpRequest,
    payload: &mut Payload,
    declaration: &'static ResourceDeclaration,
    mode: Mode,
) -> LocalBoxFuture<'static, Result<Option<AuthInfo>, actix_web::Error>> {
    if let Some(answered) = preflight(req) {
        return answered;
    }
    let Some(auth) = McpAuth::from_request(req) else {
        return Box::pin(ready(Err(Misconfiguration::NoMcpAuth.error())));
    };
    match auth.declared_guard(declaration) {
        Some(guard) => guard.guard().extract(req, payload, mode),
        None => Box::pin(ready(Err(Misconfiguration::UndeclaredResource.error()))),
    }
}
