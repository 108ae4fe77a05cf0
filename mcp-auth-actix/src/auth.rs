//! [`McpAuth`]: the validated configuration (built by
//! [`McpAuthBuilder::build`](crate::McpAuthBuilder::build)) that the metadata
//! endpoints, the middleware and the extractors share. Lookups only: every
//! configuration mistake was reported when it was built.

use std::{collections::HashMap, fmt, sync::Arc};

use actix_web::{HttpRequest, web, web::Bytes};

use crate::{
    __private::ResourceDeclaration,
    BearerAuth,
    auth_server::AuthServer,
    error::{AuthError, ConfigError},
    verify::resource::ProtectedResource,
    web::guard::ErrorHandler,
};

/// The validated configuration: resources, their authorization servers, key
/// caches and verified-token caches. Cheap to clone; put it in app data
/// (`App::new().app_data(auth.clone())`) and register
/// [`routes`](crate::routes).
#[derive(Clone)]
pub struct McpAuth(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) resources: Vec<Arc<ProtectedResource>>,
    pub(crate) by_path: HashMap<String, Arc<ProtectedResource>>,
    pub(crate) by_id: HashMap<String, Arc<ProtectedResource>>,
    pub(crate) legacy_server: Option<Arc<AuthServer>>,
    pub(crate) metadata_max_age: u32,
    pub(crate) error_handler: Option<ErrorHandler>,
    /// Built once so extractors allocate nothing per request: the guard of
    /// the only resource (if there is one), and one per linked
    /// `#[protected_resource]` declaration whose resource is configured.
    pub(crate) single_guard: Option<BearerAuth>,
    pub(crate) declared_guards: HashMap<usize, BearerAuth>,
}

impl fmt::Debug for McpAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpAuth")
            .field(
                "resources",
                &self.0.resources.iter().map(|r| &r.id).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl McpAuth {
    /// Protection for `resource` (its identifier, as configured or declared),
    /// to `.wrap()` a scope or put in a route's app data.
    pub fn bearer_auth(&self, resource: &str) -> Result<BearerAuth, ConfigError> {
        self.0
            .by_id
            .get(resource)
            .map(|r| BearerAuth::new(r.clone(), self.0.error_handler.clone()))
            .ok_or_else(|| ConfigError::UnknownResource {
                resource: resource.to_owned(),
                configured: self.resources().map(str::to_owned).collect(),
            })
    }

    /// The identifiers of the configured resources, as served.
    pub fn resources(&self) -> impl Iterator<Item = &str> {
        self.0.resources.iter().map(|r| r.id.as_str())
    }

    /// The served metadata document of `resource`, as JSON.
    pub fn resource_metadata(&self, resource: &str) -> Option<serde_json::Value> {
        let r = self.0.by_id.get(resource)?;
        serde_json::from_slice(&r.metadata_json).ok()
    }

    /// The absolute URL of `resource`'s metadata document (the
    /// `resource_metadata` challenge parameter).
    pub fn resource_metadata_url(&self, resource: &str) -> Option<&str> {
        self.0
            .by_id
            .get(resource)
            .map(|r| r.context.resource_metadata.as_str())
    }

    pub(crate) fn from_request(req: &HttpRequest) -> Option<&McpAuth> {
        req.app_data::<McpAuth>()
            .or_else(|| req.app_data::<web::Data<McpAuth>>().map(|d| d.get_ref()))
    }

    pub(crate) fn single_resource_guard(&self) -> Option<&BearerAuth> {
        self.0.single_guard.as_ref()
    }

    /// The guard of a `#[protected_resource]` declaration, found by the
    /// address of its `static` (never by name or source line).
    pub(crate) fn declared_guard(
        &self,
        declaration: &'static ResourceDeclaration,
    ) -> Option<&BearerAuth> {
        self.0
            .declared_guards
            .get(&(std::ptr::from_ref(declaration) as usize))
    }

    pub(crate) fn metadata_document(&self, path: &str) -> Option<&Bytes> {
        self.0.by_path.get(path).map(|r| &r.metadata_json)
    }

    pub(crate) fn metadata_max_age(&self) -> u32 {
        self.0.metadata_max_age
    }

    pub(crate) async fn legacy_server_metadata(&self) -> Option<Result<Bytes, AuthError>> {
        let server = self.0.legacy_server.as_ref()?;
        Some(server.resolved().await.map(|r| r.json.clone()))
    }
}
