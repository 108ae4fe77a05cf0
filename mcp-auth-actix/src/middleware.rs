//! [`BearerAuth`]: protection settings for one resource, usable as
//! middleware (`.wrap(bearer)`) or as extractor configuration in app data
//! (`.app_data(bearer)`), the way `JsonConfig` configures `Json`.

use std::{fmt, future::Future, pin::Pin, rc::Rc, sync::Arc};

use actix_web::{
    Error, HttpMessage, HttpRequest,
    body::{EitherBody, MessageBody},
    dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready},
    http::{Method, header},
};
use futures_util::future::{Ready, ready};

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
pub struct BearerAuth {
    resource: Arc<ProtectedResource>,
    required: Arc<[String]>,
    error_handler: Option<ErrorHandler>,
}

impl fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuth")
            .field("resource", &self.resource.id)
            .field("required_scopes", &self.required)
            .finish_non_exhaustive()
    }
}

impl BearerAuth {
    pub(crate) fn new(
        resource: Arc<ProtectedResource>,
        error_handler: Option<ErrorHandler>,
    ) -> Self {
        Self {
            resource,
            required: Arc::from([]),
            error_handler,
        }
    }

    /// Scopes every request must carry (all-of); a token lacking any gets
    /// 403 `insufficient_scope` with `scope="<all required>"`.
    pub fn required_scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.required = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Customises error responses, like `JsonConfig::error_handler`.
    pub fn error_handler(
        mut self,
        handler: impl Fn(AuthError, &HttpRequest) -> Error + Send + Sync + 'static,
    ) -> Self {
        self.error_handler = Some(Arc::new(handler));
        self
    }

    /// The protected resource identifier.
    pub fn resource(&self) -> &str {
        &self.resource.id
    }

    /// Verifies a bearer token outside an HTTP request (e.g. a WebSocket
    /// message or a benchmark): the same checks as the middleware, required
    /// scopes included.
    pub async fn verify(&self, token: &str) -> Result<AuthInfo, AuthError> {
        self.verify_raw(token.as_bytes()).await
    }

    async fn verify_raw(&self, raw: &[u8]) -> Result<AuthInfo, AuthError> {
        let auth = self.resource.verify(raw).await?;
        auth.require_scopes(&self.required)?;
        Ok(auth)
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
                tracing::debug!(resource = %self.resource.id, error = %err, "request rejected");
                Err(match &self.error_handler {
                    Some(handler) => handler(err, req),
                    None => err.into(),
                })
            }
        }
    }

    async fn check(&self, req: &HttpRequest) -> Result<AuthInfo, AuthError> {
        let with_scope = |err: AuthError| {
            let err = err.in_context(&self.resource.challenge);
            match err.kind() {
                AuthErrorKind::MissingToken | AuthErrorKind::InvalidToken => {
                    err.with_scope(join_scopes(&self.required))
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

impl<S, B> Service<ServiceRequest> for BearerAuthMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let auth = self.auth.clone();
        Box::pin(async move {
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
        })
    }
}
