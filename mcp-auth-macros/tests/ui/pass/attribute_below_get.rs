//! `#[protected_resource]` written *below* the route attribute.
//!
//! actix-web-codegen 4.x keeps the original function (with our attribute
//! still on it) inside the generated `HttpServiceFactory::register`, so the
//! macro then expands on that nested function: the handler is still
//! rewritten and the declaration is still registered.

use actix_web::App;
use mcp_auth::__private::{Registration, inventory};
use mcp_auth::{AuthInfo, protected_resource};

#[actix_web::get("/mcp")]
#[protected_resource(resource = "https://api.example.com/mcp", scopes = ["mcp"])]
async fn handler(auth: AuthInfo) -> &'static str {
    let _ = auth;
    "ok"
}

fn main() {
    let _ = App::new().service(handler);
    let decl = inventory::iter::<Registration>
        .into_iter()
        .map(|r| r.0)
        .find(|d| d.handler == "handler")
        .expect("declaration registered");
    assert_eq!(decl.required_scopes, ["mcp"]);
}
