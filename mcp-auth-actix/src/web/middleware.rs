//! [`BearerAuth`]: protection settings for one resource, usable as
//! middleware (`.wrap(bearer)`) or as extractor configuration in app data
//! (`.app_data(bearer)`), the way `JsonConfig` configures `Json`.

use std::{fmt, rc::Rc, sync::Arc};

use actix_web::{
    Error, HttpMessage, HttpRequest,
    body::{EitherBody, MessageBody},
    dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready},
};
use futures_util::{
    TryFutureExt,
    future::{Either, LocalBoxFuture, MapOk, Ready, ready},
};

use crate::{
    AuthInfo, OperationScopes,
    error::{AuthError, ConfigError},
    verify::resource::ProtectedResource,
    web::cors,
    web::guard::{ErrorHandler, Guard, Mode, protected_response},
    web::operations::{check_scope, drain},
};

/// Requires a valid bearer token for one protected resource, and optionally
/// scopes (all of them) and [`OperationScopes`]. Obtain it from
/// [`McpAuth::bearer_auth`](crate::McpAuth::bearer_auth).
///
/// Use it as middleware (`.wrap(guard)`, recommended: it protects every
/// handler below it, whatever its arguments) or as extractor configuration
/// (`.app_data(guard)`: it protects handlers that take [`AuthInfo`] or
/// [`MaybeAuthInfo`](crate::MaybeAuthInfo)). Guards compose fail-closed: a
/// route under several guards must satisfy all of them.
///
/// ```no_run
/// # use actix_web::{web, App, HttpResponse};
/// # fn demo(auth: mcp_auth::McpAuth) -> Result<(), mcp_auth::ConfigError> {
/// let protect = auth.bearer_auth("https://api.example.com/mcp")?.required_scopes(["mcp:use"])?;
/// let app = App::new()
///     .app_data(auth.clone())
///     .configure(mcp_auth::routes)
///     .service(web::scope("/mcp").wrap(protect).route("", web::post().to(HttpResponse::Ok)));
/// # Ok(()) }
/// ```
///
/// As middleware it also answers CORS preflights itself (204, any origin:
/// bearer tokens are not ambient credentials), so a preflight never reaches
/// a handler, and lets browsers read its responses. For a stricter CORS
/// policy, wrap an `actix-cors` layer outside it.
#[derive(Clone)]
pub struct BearerAuth(Arc<Guard>);

impl fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuth")
            .field("resource", &self.0.resource.id)
            .field("required_scopes", &self.0.required)
            .field("operation_scopes", &self.0.operations)
            .finish_non_exhaustive()
    }
}

impl BearerAuth {
    pub(crate) fn new(
        resource: Arc<ProtectedResource>,
        error_handler: Option<ErrorHandler>,
    ) -> Self {
        Self(Arc::new(Guard {
            resource,
            required: Vec::new(),
            operations: None,
            error_handler,
        }))
    }

    /// The shared guard. Setters build a new one rather than change it:
    /// guards are compared by address.
    pub(crate) fn guard(&self) -> &Arc<Guard> {
        &self.0
    }

    /// Scopes every request must carry (all-of); a token lacking any gets
    /// 403 `insufficient_scope`. Each must be an RFC 6749 scope-token and,
    /// when the resource advertises `scopes_supported`, one of them.
    pub fn required_scopes(
        self,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self, ConfigError> {
        let required: Vec<String> = scopes.into_iter().map(Into::into).collect();
        for scope in &required {
            check_scope(
                &self.0.resource.id,
                "required_scopes",
                scope,
                &self.0.resource.scopes_supported,
            )?;
        }
        Ok(Self(Arc::new(Guard {
            required,
            ..(*self.0).clone()
        })))
    }

    /// Scopes per MCP operation (tool, prompt, resource URI, method), read
    /// from the JSON-RPC body; see [`OperationScopes`]. Checked like
    /// [`required_scopes`](Self::required_scopes).
    pub fn operation_scopes(self, operations: OperationScopes) -> Result<Self, ConfigError> {
        operations.validate(&self.0.resource.id, &self.0.resource.scopes_supported)?;
        let operations = (!operations.is_empty()).then_some(operations);
        Ok(Self(Arc::new(Guard {
            operations,
            ..(*self.0).clone()
        })))
    }

    /// Customises error responses, like `JsonConfig::error_handler`.
    pub fn error_handler(
        self,
        handler: impl Fn(AuthError, &HttpRequest) -> Error + Send + Sync + 'static,
    ) -> Self {
        Self(Arc::new(Guard {
            error_handler: Some(Arc::new(handler)),
            ..(*self.0).clone()
        }))
    }

    /// The protected resource identifier.
    pub fn resource(&self) -> &str {
        &self.0.resource.id
    }

    /// Verifies a bearer token outside an HTTP request (e.g. a WebSocket
    /// message or a benchmark): the same checks as the middleware, required
    /// scopes included (operation scopes need a request body). Like
    /// everything that may fetch keys or metadata, it must run on an Actix
    /// runtime (a worker, `#[actix_web::main]`, or an `actix_rt::System`),
    /// because `awc` is not `Send`.
    ///
    /// There is no request to carry a DPoP proof, so the token is checked
    /// as a bearer token: refused when bound to a key (`cnf`), and refused
    /// where the resource requires DPoP.
    pub async fn verify(&self, token: &str) -> Result<AuthInfo, AuthError> {
        self.0.verify(token.as_bytes()).await
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

/// The service [`BearerAuth`] wraps around a resource or scope (named only
/// in type signatures; build it with `.wrap(bearer_auth)`).
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

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let guard = self.auth.guard();
        if cors::is_preflight(req.request()) {
            // Answered here: a preflight never reaches the inner service.
            let res = cors::preflight(req.request(), None);
            return Either::Right(Box::pin(ready(Ok(req
                .into_response(res)
                .map_into_right_body()))));
        }
        // A token seen before: no allocation, no await, no lock held.
        if guard.operations.is_none()
            && let Some(auth) = guard.cached(req.headers())
        {
            req.extensions_mut().insert(auth);
            let left: LeftBody<B> = allowed;
            return Either::Left(self.service.call(req).map_ok(left));
        }
        let service = self.service.clone();
        let guard = guard.clone();
        Either::Right(Box::pin(async move {
            let body = guard.needs_body(req.request()).then(|| req.take_payload());
            match guard
                .authorize(req.request().clone(), body, Mode::Required)
                .await
            {
                Ok(authorized) => {
                    if let Some(bytes) = authorized.body {
                        req.set_payload(bytes.into());
                    }
                    service.call(req).await.map(allowed)
                }
                Err(err) => {
                    let payload = req.take_payload();
                    drain(req.request(), payload).await;
                    Ok(req.error_response(err).map_into_right_body())
                }
            }
        }))
    }
}

/// A response of the protected service ([`protected_response`]).
fn allowed<B>(mut res: ServiceResponse<B>) -> ServiceResponse<EitherBody<B>> {
    let (req, res_mut) = (res.request().clone(), res.response_mut());
    protected_response(&req, res_mut.status(), res_mut.headers_mut());
    res.map_into_left_body()
}
