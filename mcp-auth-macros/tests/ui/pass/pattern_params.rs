//! Parameters with patterns are passed through to the original body.

use actix_web::{App, Responder, post, web};
use mcp_auth::{AuthInfo, protected_resource};

type Params = std::collections::HashMap<String, u32>;

#[protected_resource(resource = "https://api.example.com/notes", scopes = ["notes:write"])]
#[post("/notes/{owner}/{id}")]
async fn update(
    (path, web::Query(params)): (web::Path<(String, u32)>, web::Query<Params>),
    mut auth: AuthInfo,
    web::Json(body): web::Json<serde_json::Value>,
    _: web::Data<()>,
) -> impl Responder {
    auth = std::convert::identity(auth);
    let _ = auth;
    let (owner, id) = path.into_inner();
    let limit = params.get("limit").copied().unwrap_or(10);
    format!("{owner}/{id}: {body} (limit {limit})")
}

fn main() {
    let _ = App::new().service(update);
}
