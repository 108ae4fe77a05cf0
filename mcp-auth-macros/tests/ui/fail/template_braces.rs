use mcp_auth::{AuthInfo, protected_resource};

#[protected_resource(
    resource = "https://api.example.com/mcp",
    resource_scopes = {
        "notes://{id" = ["notes:read"],
        "notes://{a{b}}" = ["notes:read"],
        "notes://id}" = ["notes:read"],
        "notes://{a}{b}" = ["notes:read"],
    },
)]
#[actix_web::post("/mcp")]
async fn handler(auth: AuthInfo) -> &'static str {
    let _ = auth;
    "ok"
}

fn main() {}
