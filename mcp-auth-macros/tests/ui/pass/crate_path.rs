//! `crate = "path"`: mcp-auth-actix reached through a re-export (as an SDK
//! built on it would offer), with no `mcp_auth` in scope at the call site.

mod sdk {
    pub use ::mcp_auth as auth;
}

mod handlers {
    use crate::sdk::auth::{AuthInfo, protected_resource};

    #[protected_resource(
        resource = "https://api.example.com/mcp",
        scopes = ["mcp"],
        crate = "crate::sdk::auth",
    )]
    #[actix_web::post("/mcp")]
    pub async fn handler(auth: AuthInfo) -> &'static str {
        let _ = auth;
        "ok"
    }
}

fn main() {
    use crate::sdk::auth::__private::{Registration, inventory};
    let _ = actix_web::App::new().service(handlers::handler);
    let decl = inventory::iter::<Registration>
        .into_iter()
        .map(|r| r.0)
        .find(|d| d.handler == "handler")
        .expect("declaration registered");
    assert_eq!(decl.resource, "https://api.example.com/mcp");
}
