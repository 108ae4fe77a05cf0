use mcp_auth::{AuthInfo, protected_resource};

#[protected_resource(
    resource = "https://api.example.com/mcp",
    resource_policy_uri = "/policy",
    resource_tos_uri = "ftp://example.com/tos",
)]
#[actix_web::post("/mcp")]
async fn handler(auth: AuthInfo) -> &'static str {
    let _ = auth;
    "ok"
}

fn main() {}
