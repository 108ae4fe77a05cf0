use mcp_auth::{AuthInfo, protected_resource};

#[protected_resource(
    resource = "https://api.example.com/mcp",
    crate = "not a path",
)]
async fn handler(auth: AuthInfo) -> &'static str {
    let _ = auth;
    "ok"
}

#[protected_resource(resource = "https://api.example.com/mcp", crate = some::path)]
async fn unquoted(auth: AuthInfo) -> &'static str {
    let _ = auth;
    "ok"
}

fn main() {}
