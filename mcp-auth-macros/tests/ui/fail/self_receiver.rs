use mcp_auth::{AuthInfo, protected_resource};

struct Notes;

impl Notes {
    #[protected_resource(resource = "https://api.example.com/mcp")]
    async fn handler(&self, auth: AuthInfo) -> &'static str {
        let _ = auth;
        "ok"
    }
}

fn main() {}
