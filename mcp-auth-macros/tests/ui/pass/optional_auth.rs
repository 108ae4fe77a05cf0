//! `Option<AuthInfo>`: the handler also runs for anonymous callers.

use actix_web::{App, Responder, get};
use mcp_auth::{AuthInfo, protected_resource};

#[protected_resource(resource = "https://api.example.com/mcp", scopes = ["mcp"])]
#[get("/mcp")]
async fn maybe(auth: Option<AuthInfo>) -> impl Responder {
    match auth {
        Some(_) => "authenticated",
        None => "anonymous",
    }
}

#[protected_resource(resource = "https://api.example.com/mcp", scopes = ["mcp"])]
#[get("/mcp2")]
async fn maybe_qualified(auth: std::option::Option<mcp_auth::AuthInfo>) -> &'static str {
    if auth.is_some() { "yes" } else { "no" }
}

fn main() {
    let _ = App::new().service(maybe).service(maybe_qualified);
}
