use mcp_auth::{AuthInfo, protected_resource};

#[protected_resource(
    resource = "https://api.example.com/mcp",
    scopes = ["mcp:read", "mcp:write"],
    tool_scopes = { "add_note" = ["mcp:write"] },
)]
#[actix_web::post("/mcp")]
async fn handler(auth: AuthInfo) -> &'static str {
    let _ = auth;
    "ok"
}

fn main() {}
