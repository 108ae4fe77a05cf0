use mcp_auth::{AuthInfo, protected_resource};

#[protected_resource(
    resource = "https://api.example.com/mcp",
    scopes = ["mcp:read", "mcp:write"],
    required_scopes = ["mcp:read"],
    tool_scopes = { "add_note" = ["mcp:write"], "delete" = ["mcp:write"], "add_note" = ["mcp:read"] },
)]
#[actix_web::post("/mcp")]
async fn handler(auth: AuthInfo) -> &'static str {
    let _ = auth;
    "ok"
}

fn main() {}
