//! Doc comments and other attributes on the handler are kept, and the
//! generated marker type does not trip `missing_docs`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

/// Handlers.
pub mod handlers {
    use actix_web::{HttpResponse, Responder};
    use mcp_auth::{AuthInfo, protected_resource};

    #[protected_resource(resource = "https://api.example.com/mcp", scopes = ["mcp"])]
    /// The MCP endpoint.
    ///
    /// Documented so that `missing_docs` is satisfied.
    #[allow(clippy::unused_async, unused_mut)]
    pub async fn mcp(auth: AuthInfo) -> impl Responder {
        let _ = auth;
        HttpResponse::Ok()
    }

    #[protected_resource(resource = "https://api.example.com/mcp", scopes = ["mcp"])]
    /// A routed handler, also documented.
    #[actix_web::get("/mcp")]
    pub async fn routed(auth: AuthInfo) -> impl Responder {
        let _ = auth;
        HttpResponse::Ok()
    }
}

fn main() {
    let _ = actix_web::App::new()
        .route("/mcp", actix_web::web::post().to(handlers::mcp))
        .service(handlers::routed);
}
