use mcp_auth::{AuthInfo, protected_resource};

#[protected_resource(
    resource = "http://api.example.com/mcp",
    scopes = ["notes read", "offline_access"],
    required_scopes = ["admin"],
    resource_tos_uri = "tos",
)]
#[actix_web::post("/mcp")]
async fn handler(auth: AuthInfo) -> &'static str {
    let _ = auth;
    "ok"
}

fn main() {}
