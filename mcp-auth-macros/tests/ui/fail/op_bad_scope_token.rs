use mcp_auth::{AuthInfo, protected_resource};

#[protected_resource(
    resource = "https://api.example.com/mcp",
    tool_scopes = { "add_note" = ["mcp write"] },
    prompt_scopes = { "summarize" = ["notes:read", "notes:read"] },
)]
#[actix_web::post("/mcp")]
async fn handler(auth: AuthInfo) -> &'static str {
    let _ = auth;
    "ok"
}

fn main() {}
