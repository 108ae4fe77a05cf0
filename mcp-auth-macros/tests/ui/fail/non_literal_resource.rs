use mcp_auth::{AuthInfo, protected_resource};

const RESOURCE: &str = "https://api.example.com/mcp";

#[protected_resource(resource = RESOURCE)]
#[actix_web::post("/mcp")]
async fn handler(auth: AuthInfo) -> &'static str {
    let _ = (auth, RESOURCE);
    "ok"
}

fn main() {}
