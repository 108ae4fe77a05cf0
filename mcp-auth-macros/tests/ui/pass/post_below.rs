//! The usual form: `#[protected_resource]` above the actix route attribute.

use actix_web::{App, Responder, get, post, web};
use mcp_auth::{AuthInfo, protected_resource};

#[protected_resource(
    resource = "https://api.example.com/notes",
    scopes = ["notes:read", "notes:write"],
    required_scopes = ["notes:read"],
)]
#[post("/notes/mcp")]
async fn notes(auth: AuthInfo, body: web::Json<serde_json::Value>) -> impl Responder {
    let _ = auth;
    web::Json(body.into_inner())
}

#[protected_resource(resource = "https://api.example.com/notes", scopes = ["notes:read"])]
#[actix_web::get("/notes/{id}")]
async fn note(id: web::Path<u32>, auth: AuthInfo) -> Result<String, actix_web::Error> {
    let _ = auth;
    if *id == 0 {
        return Err(actix_web::error::ErrorNotFound("no such note"));
    }
    Ok(format!("note {id}"))
}

#[protected_resource(resource = "https://api.example.com/notes")]
#[get("/r#type")]
async fn r#type(auth: AuthInfo) -> impl Responder {
    let _ = auth;
    "raw identifier"
}

fn main() {
    let _ = App::new().service(notes).service(note).service(r#type);
}
