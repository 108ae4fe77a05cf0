//! Without an `AuthInfo` parameter a guard extractor is added, so the route
//! is still protected.

use actix_web::{App, HttpRequest, Responder, post, web};
use mcp_auth::protected_resource;

#[protected_resource(resource = "https://api.example.com/mcp", scopes = ["mcp"])]
#[post("/mcp")]
async fn guarded() -> impl Responder {
    "only with a valid token"
}

#[protected_resource(resource = "https://api.example.com/mcp", scopes = ["mcp"])]
#[post("/mcp/echo")]
async fn guarded_with_args(req: HttpRequest, body: String, _q: web::Query<Vec<(String, String)>>) -> String {
    format!("{} {body}", req.path())
}

fn main() {
    let _ = App::new().service(guarded).service(guarded_with_args);
}
