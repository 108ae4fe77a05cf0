//! Bridge to the official Rust MCP SDK (`rmcp`) served by `rmcp-actix-web`
//! (feature `rmcp`): tool handlers read the caller's [`AuthInfo`].
//!
//! ```ignore
//! let service = StreamableHttpService::builder()
//!     .service_factory(Arc::new(|| Ok(MyServer::new())))
//!     .session_manager(Arc::new(LocalSessionManager::default()))
//!     .on_request_fn(mcp_auth::rmcp::forward_auth_info) // the one-line bridge
//!     .build();
//! // bearer = auth.bearer_auth(resource)?.required_scopes([..])?.operation_scopes(..)?
//! App::new().app_data(auth.clone()).configure(mcp_auth::routes)
//!     .service(service.scope_with_path("/mcp").wrap(bearer));
//!
//! // in a #[tool] handler:
//! let caller = mcp_auth::rmcp::auth_info(&context).ok_or_else(...)?;
//! ```
//!
//! `rmcp-actix-web` strips the `Authorization` header before rmcp sees it
//! (unless its `authorization-token-passthrough` feature is on), which is
//! what MCP wants: tools get the verified claims, never the raw token.

use actix_web::{HttpMessage, HttpRequest};

use crate::AuthInfo;

/// Copies the verified [`AuthInfo`] (stored by [`BearerAuth`](crate::BearerAuth))
/// from the Actix request into rmcp's request extensions. Pass it to
/// `StreamableHttpService::builder().on_request_fn(..)`.
pub fn forward_auth_info(req: &HttpRequest, extensions: &mut ::rmcp::model::Extensions) {
    if let Some(auth) = req.extensions().get::<AuthInfo>() {
        extensions.insert(auth.clone());
    }
}

/// The caller of the current rmcp request, if it was authenticated.
pub fn auth_info(
    context: &::rmcp::service::RequestContext<::rmcp::RoleServer>,
) -> Option<&AuthInfo> {
    rmcp_actix_web::transport::on_request_extensions(&context.extensions)?.get::<AuthInfo>()
}
