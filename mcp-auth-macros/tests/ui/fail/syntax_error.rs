use mcp_auth::{AuthInfo, protected_resource};

#[protected_resource(
    foo = 1,
    resource "https://api.example.com/mcp",
)]
#[actix_web::post("/mcp")]
async fn handler(auth: AuthInfo) -> &'static str {
    let _ = auth;
    "ok"
}

fn main() {}
