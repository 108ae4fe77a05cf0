//! Support code for `#[protected_resource]` expansions. Not public API: the
//! macro crate emits fully qualified paths into this module so that user
//! crates need no direct dependency on `inventory` or on `mcp-auth-macros`.

use std::marker::PhantomData;

use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload};
use futures_util::future::LocalBoxFuture;

pub use inventory;

use crate::{AuthInfo, web::guard::Mode};

/// One resource declaration emitted by `#[protected_resource]` on a handler,
/// as a `static`: its address is its identity (two handlers with the same
/// name and source line, e.g. from one `macro_rules!`, stay distinct).
///
/// Several handlers may declare the same resource identifier; their advertised
/// metadata must then agree (checked when `McpAuth` is built).
#[derive(Debug)]
pub struct ResourceDeclaration {
    /// Resource identifier as written in the attribute (validated at compile time).
    pub resource: &'static str,
    /// Scopes advertised in `scopes_supported`.
    pub scopes_supported: &'static [&'static str],
    /// Scopes this handler requires (all-of).
    pub required_scopes: &'static [&'static str],
    /// Scopes per MCP operation (`tool_scopes`, `prompt_scopes`, `resource_scopes`).
    pub operations: &'static [OperationDeclaration],
    /// Optional RFC 9728 `resource_name`.
    pub resource_name: Option<&'static str>,
    /// Optional RFC 9728 `resource_documentation`.
    pub resource_documentation: Option<&'static str>,
    /// Optional RFC 9728 `resource_policy_uri`.
    pub resource_policy_uri: Option<&'static str>,
    /// Optional RFC 9728 `resource_tos_uri`.
    pub resource_tos_uri: Option<&'static str>,
    /// Name of the annotated handler function.
    pub handler: &'static str,
    /// `file:line` of the annotated handler, used in start-up error messages.
    pub location: &'static str,
}

/// Scopes one MCP operation needs, as declared on a handler.
#[derive(Debug)]
pub struct OperationDeclaration {
    /// Which kind of operation `name` names.
    pub kind: OperationKind,
    /// Tool name, prompt name, or resource URI / URI template.
    pub name: &'static str,
    /// Scopes the operation needs (all-of).
    pub scopes: &'static [&'static str],
}

/// The MCP operations a declaration can require scopes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    /// `tools/call` by tool name.
    Tool,
    /// `prompts/get` by prompt name.
    Prompt,
    /// `resources/read` (and subscribe/unsubscribe) by URI or URI template.
    Resource,
}

/// Registry entry collected at link time with `inventory`.
#[derive(Debug)]
pub struct Registration(pub &'static ResourceDeclaration);

inventory::collect!(Registration);

/// All declarations linked into this binary.
pub(crate) fn declarations() -> impl Iterator<Item = &'static ResourceDeclaration> {
    inventory::iter::<Registration>.into_iter().map(|r| r.0)
}

/// Ties a marker type generated per handler to its declaration.
pub trait DeclaredResource: 'static {
    /// The handler's declaration (a reference to its `static`).
    fn declaration() -> &'static ResourceDeclaration;
}

/// The guard parameter the macro puts first in a rewritten handler, so it
/// runs before any other extractor can consume the body. `OPTIONAL` is true
/// when the handler takes only `Option<AuthInfo>`: requests without
/// credentials then reach it with `None` (unless the operation needs scopes);
/// invalid credentials are still refused.
pub struct Guarded<R: DeclaredResource, const OPTIONAL: bool> {
    auth: Option<AuthInfo>,
    _resource: PhantomData<R>,
}

impl<R: DeclaredResource> Guarded<R, false> {
    /// The verified caller.
    pub fn auth(&self) -> AuthInfo {
        match &self.auth {
            Some(auth) => auth.clone(),
            // `Mode::Required` never yields `None`.
            None => unreachable!("a required guard always carries an AuthInfo"),
        }
    }

    /// The verified caller, for an `Option<AuthInfo>` parameter beside an
    /// `AuthInfo` one.
    pub fn maybe_auth(&self) -> Option<AuthInfo> {
        self.auth.clone()
    }
}

impl<R: DeclaredResource> Guarded<R, true> {
    /// The verified caller, if the request carried credentials.
    pub fn maybe_auth(&self) -> Option<AuthInfo> {
        self.auth.clone()
    }
}

impl<R: DeclaredResource, const OPTIONAL: bool> FromRequest for Guarded<R, OPTIONAL> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let mode = if OPTIONAL {
            Mode::Optional
        } else {
            Mode::Required
        };
        let checked = crate::web::guard::declared(req, payload, R::declaration(), mode);
        Box::pin(async move {
            checked.await.map(|auth| Guarded {
                auth,
                _resource: PhantomData,
            })
        })
    }
}

/// The response of a `#[protected_resource]` handler: the handler's own,
/// readable by a browser page on another origin when the request has an
/// `Origin` (as `BearerAuth` as middleware does for the service it wraps).
pub struct Cors<R>(pub R);

impl<R: actix_web::Responder> actix_web::Responder for Cors<R> {
    type Body = R::Body;

    fn respond_to(self, req: &HttpRequest) -> HttpResponse<Self::Body> {
        let mut res = self.0.respond_to(req);
        let status = res.status();
        crate::web::guard::protected_response(req, status, res.headers_mut());
        res
    }
}
