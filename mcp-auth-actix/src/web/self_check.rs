//! The self-check of a resource's first request. Two mistakes make a
//! deployment look fine in tests and fail for real MCP clients; both are
//! visible only with a request in hand (the app's routes and the proxy's
//! headers), so the guard looks once and warns:
//!
//! - the request's public path is not the resource identifier's path (or
//!   below it): clients address this endpoint by a URL that is not the
//!   audience of the tokens they get for it;
//! - this app serves no route at the metadata path the challenges point
//!   to (`mcp_auth::routes` is not mounted at the app's root, or a proxy
//!   must map it).

use actix_web::HttpRequest;

use crate::{verify::resource::ProtectedResource, web::proxy::is_within};

/// Runs the checks on the resource's first request; later calls cost one
/// atomic load.
pub(crate) fn first_request(resource: &ProtectedResource, req: &HttpRequest) {
    resource.self_check.call_once(|| {
        for problem in problems(resource, req) {
            tracing::warn!(resource = %resource.id, "{problem}");
        }
    });
}

/// What is wrong with how `resource` is mounted, as seen from `req`.
pub(crate) fn problems(resource: &ProtectedResource, req: &HttpRequest) -> Vec<String> {
    let mut problems = Vec::new();
    let public = resource.public_request(req);
    let path = format!("{}{}", public.prefix, req.path());
    let id_path = &resource.path;
    if !is_within(id_path, &path) {
        problems.push(format!(
            "a request to `{path}` is protected by resource `{}`, whose path is `{id_path}`: \
             MCP clients get tokens for the resource identifier, so they must call it by that URL. \
             Mount the handler at `{id_path}`, or set the identifier (or `public_origin` with a \
             proxy's path prefix, and `trusted_proxies` when the proxy strips it) to the URL clients use",
            resource.id
        ));
    }
    if !req.resource_map().has_resource(&resource.well_known_path) {
        problems.push(format!(
            "challenges send clients to `{}`, but this app has no route at `{}`: mount \
             `mcp_auth::routes` at the app's root (`App::new().configure(mcp_auth::routes)`), \
             or make sure a proxy maps that URL to where it is mounted",
            resource.context.resource_metadata, resource.well_known_path
        ));
    }
    problems
}
