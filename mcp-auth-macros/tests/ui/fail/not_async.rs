use actix_web::HttpResponse;
use mcp_auth::{AuthInfo, protected_resource};

#[protected_resource(resource = "https://api.example.com/mcp")]
fn handler(auth: AuthInfo) -> HttpResponse {
    let _ = auth;
    HttpResponse::Ok().finish()
}

fn main() {}
