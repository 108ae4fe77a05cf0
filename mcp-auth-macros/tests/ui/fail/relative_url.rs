use mcp_auth::{AuthInfo, protected_resource};

#[protected_resource(
    resource = "/notes/mcp",
)]
#[actix_web::post("/mcp")]
async fn handler(auth: AuthInfo) -> &'static str {
    let _ = auth;
    "ok"
}

fn main() {}
