use mcp_auth::{AuthInfo, protected_resource};

#[protected_resource(
    resource = "https://user:secret@api.example.com/mcp",
)]
#[actix_web::post("/mcp")]
async fn handler(auth: AuthInfo) -> &'static str {
    let _ = auth;
    "ok"
}

fn main() {}
