use mcp_auth::{AuthInfo, protected_resource};

#[protected_resource(
    resource = "https://api.example.com/mcp",
    resource_documentation = "docs.example.com/notes",
)]
#[actix_web::post("/mcp")]
async fn handler(auth: AuthInfo) -> &'static str {
    let _ = auth;
    "ok"
}

fn main() {}
