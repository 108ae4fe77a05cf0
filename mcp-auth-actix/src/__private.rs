//! Support code for `#[protected_resource]` expansions. Not public API: the
//! macro crate emits fully qualified paths into this module so that user
//! crates need no direct dependency on `inventory` or on `mcp-auth-macros`.

use std::marker::PhantomData;

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use futures_util::future::LocalBoxFuture;

pub use inventory;

use crate::AuthInfo;

/// One resource declaration emitted by `#[protected_resource]` on a handler.
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
    /// The handler's declaration.
    const DECLARATION: &'static ResourceDeclaration;
}

/// Extractor standing in for `AuthInfo` in rewritten handler signatures: it
/// verifies the bearer token for the marker's resource and required scopes.
pub struct Verified<R: DeclaredResource> {
    auth: AuthInfo,
    _resource: PhantomData<R>,
}

impl<R: DeclaredResource> Verified<R> {
    /// The verified caller.
    pub fn into_inner(self) -> AuthInfo {
        self.auth
    }
}

/// Stands in for `Option<AuthInfo>`: `None` when the request carries no
/// credentials, an error when it carries invalid ones (MCP: invalid tokens
/// get 401), unlike actix's blanket `Option<T>` which swallows errors.
pub struct OptionalVerified<R: DeclaredResource> {
    auth: Option<AuthInfo>,
    _resource: PhantomData<R>,
}

impl<R: DeclaredResource> OptionalVerified<R> {
    /// The verified caller, if any.
    pub fn into_inner(self) -> Option<AuthInfo> {
        self.auth
    }
}

impl<R: DeclaredResource> FromRequest for OptionalVerified<R> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            if !crate::extract::has_credentials(&req) {
                return Ok(OptionalVerified {
                    auth: None,
                    _resource: PhantomData,
                });
            }
            crate::extract::authenticate_declared(&req, R::DECLARATION)
                .await
                .map(|auth| OptionalVerified {
                    auth: Some(auth),
                    _resource: PhantomData,
                })
        })
    }
}

impl<R: DeclaredResource> FromRequest for Verified<R> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            crate::extract::authenticate_declared(&req, R::DECLARATION)
                .await
                .map(|auth| Verified {
                    auth,
                    _resource: PhantomData,
                })
        })
    }
}
