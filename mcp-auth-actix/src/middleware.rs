//! [`BearerAuth`]: protection settings for one resource, usable as
//! middleware (`.wrap(bearer)`) or as extractor configuration in app data
//! (`.app_data(bearer)`), the way `JsonConfig` configures `Json`.

use std::{fmt, rc::Rc, sync::Arc};

use actix_web::{
    Error, HttpMessage, HttpRequest,
    body::{EitherBody, MessageBody},
    dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready},
    http::{Method, header},
};
use futures_util::{
    TryFutureExt,
    future::{Either, LocalBoxFuture, MapOk, Ready, ready},
};

use crate::{
    AuthInfo,
    error::{AuthError, AuthErrorKind, join_scopes},
    extract::bearer_credentials,
    verify::resource::ProtectedResource,
};

/// Turns an [`AuthError`] into the response you want (e.g. a JSON-RPC error
/// body). Keep the `WWW-Authenticate` header: MCP clients need it.
pub(crate) type ErrorHandler = Arc<dyn Fn(AuthError, &HttpRequest) -> Error + Send + Sync>;

/// Requires a valid bearer token for one protected resource, and optionally
/// scopes (all of them). Obtain it from
/// [`McpAuth::bearer_auth`](crate::McpAuth::bearer_auth).
///
/// ```no_run
/// # use actix_web::{web, App, HttpResponse};
/// # fn demo(auth: mcp_auth::McpAuth) -> Result<(), mcp_auth::ConfigError> {
/// let protect = auth.bearer_auth("https://api.example.com/mcp")?.required_scopes(["mcp:use"]);
/// let app = App::new()
///     .app_data(auth.clone())
///     .configure(mcp_auth::routes)
///     .service(web::scope("/mcp").wrap(protect).route("", web::post().to(HttpResponse::Ok)));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct BearerAuth(Arc<Settings>);

/// Behind one `Arc`: the middleware clones `BearerAuth` on every request.
#[derive(Clone)]
struct Settings {
    resource: Arc<ProtectedResource>,
    required: Vec<String>,
    error_handler: Option<ErrorHandler>,
}

impl fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuth")
            .field("resource", &self.0.resource.id)
            .field("required_scopes", &self.0.required)
            .finish_non_exhaustive()
    }
}

impl BearerAuth {
    pub(crate) fn new(
        resource: Arc<ProtectedResource>,
        error_handler: Option<ErrorHandler>,
    ) -> Self {
        Self(Arc::new(Settings {
            resource,
            required: Vec::new(),
            error_handler,
        }))
    }

    /// Scopes every request must carry (all-of); a token lacking any gets
    /// 403 `insufficient_scope` with `scope="<all required>"`.
    pub fn required_scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Arc::make_mut(&mut self.0).required = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Customises error responses, like `JsonConfig::error_handler`.
    pub fn error_handler(
        mut self,
        handler: impl Fn(AuthError, &HttpRequest) -> Error + Send + Sync + 'static,
    ) -> Self {
        Arc::make_mut(&mut self.0).error_handler = Some(Arc::new(handler));
        self
    }

    /// The protected resource identifier.
    pub fn resource(&self) -> &str {
        &self.0.resource.id
    }

    /// Verifies a bearer token outside an HTTP request (e.g. a WebSocket
    /// message or a benchmark): the same checks as the middleware, required
    /// scopes included. Like everything that may fetch keys or metadata, it
    /// must run on an Actix runtime (a worker, `#[actix_web::main]`, or an
    /// `actix_rt::System`), because `awc` is not `Send`.
    pub async fn verify(&self, token: &str) -> Result<AuthInfo, AuthError> {
        self.verify_raw(token.as_bytes()).await
    }

    async fn verify_raw(&self, raw: &[u8]) -> Result<AuthInfo, AuthError> {
        let auth = self.0.resource.verify(raw).await?;
        auth.require_scopes(&self.0.required)?;
        Ok(auth)
    }

    /// The request's token from the verified-token cache, if it is there and
    /// grants the required scopes; everything else takes the full path.
    fn cached(&self, req: &ServiceRequest) -> Option<AuthInfo> {
        let raw = bearer_credentials(req.headers()).ok()?;
        let auth = self.0.resource.cached(raw)?;
        self.0
            .required
            .iter()
            .all(|s| auth.has_scope(s))
            .then_some(auth)
    }

    /// Authenticates `req`; on success the [`AuthInfo`] is also stored in the
    /// request extensions (for extractors and bridges such as rmcp's).
    pub(crate) async fn authenticate(&self, req: &HttpRequest) -> Result<AuthInfo, Error> {
        match self.check(req).await {
            Ok(auth) => {
                req.extensions_mut().insert(auth.clone());
                Ok(auth)
            }
            Err(err) => {
                // Never log the token; the description is enough.
                tracing::debug!(resource = %self.0.resource.id, error = %err, "request rejected");
                Err(match &self.0.error_handler {
                    Some(handler) => handler(err, req),
                    None => err.into(),
                })
            }
        }
    }

    async fn check(&self, req: &HttpRequest) -> Result<AuthInfo, AuthError> {
        let with_scope = |err: AuthError| {
            let err = err.in_context(&self.0.resource.challenge);
            match err.kind() {
                AuthErrorKind::MissingToken | AuthErrorKind::InvalidToken => {
                    err.with_scope(join_scopes(&self.0.required))
                }
                _ => err,
            }
        };
        let token = bearer_credentials(req.headers()).map_err(with_scope)?;
        self.verify_raw(token).await.map_err(with_scope)
    }
}

impl<S, B> Transform<S, ServiceRequest> for BearerAuth
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = BearerAuthMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(BearerAuthMiddleware {
            service: Rc::new(service),
            auth: self.clone(),
        }))
    }
}

/// The service produced by [`BearerAuth`] as middleware.
#[doc(hidden)]
pub struct BearerAuthMiddleware<S> {
    service: Rc<S>,
    auth: BearerAuth,
}

type LeftBody<B> = fn(ServiceResponse<B>) -> ServiceResponse<EitherBody<B>>;

impl<S, B> Service<ServiceRequest> for BearerAuthMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    /// Unboxed on the hot path (a cached token), boxed otherwise.
    type Future = Either<
        MapOk<S::Future, LeftBody<B>>,
        LocalBoxFuture<'static, Result<Self::Response, Self::Error>>,
    >;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        // A token seen before: no allocation, no await, no lock held.
        if let Some(auth) = self.auth.cached(&req) {
            req.extensions_mut().insert(auth);
            let left: LeftBody<B> = ServiceResponse::map_into_left_body;
            return Either::Left(self.service.call(req).map_ok(left));
        }
        let service = self.service.clone();
        let auth = self.auth.clone();
        Either::Right(Box::pin(async move {
            // CORS preflights carry no credentials by design.
            let preflight = req.method() == Method::OPTIONS
                && req
                    .headers()
                    .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
            if !preflight && let Err(err) = auth.authenticate(req.request()).await {
                return Ok(req.error_response(err).map_into_right_body());
            }
            service
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body)
        }))
    }
}
