//! `tool_scopes`, `prompt_scopes` and `resource_scopes` are emitted as
//! operation declarations; without `scopes`, every operation scope is
//! advertised next to the required ones.

use actix_web::{App, Responder, post, web};
use mcp_auth::__private::{DeclaredResource, OperationKind};
use mcp_auth::{AuthInfo, protected_resource};

#[protected_resource(
    resource = "https://api.example.com/notes",
    scopes = ["notes:read", "notes:write", "notes:admin"],
    required_scopes = ["notes:read"],
    tool_scopes = { "add_note" = ["notes:write"], "delete" = ["notes:write", "notes:admin"] },
    prompt_scopes = { "summarize" = ["notes:read"], },
    resource_scopes = {
        "notes://{id}" = ["notes:read"],
        "notes://private/{+path}" = ["notes:admin"],
        "notes://index" = [],
    },
)]
#[post("/notes/mcp")]
async fn notes(auth: AuthInfo, body: web::Json<serde_json::Value>) -> impl Responder {
    let _ = auth;
    web::Json(body.into_inner())
}

#[protected_resource(
    resource = "https://api.example.com/tasks",
    required_scopes = ["tasks:read"],
    tool_scopes = { "add_task" = ["tasks:write", "tasks:read"] },
    prompt_scopes = { "plan" = ["tasks:plan", "tasks:write"] },
)]
#[post("/tasks/mcp")]
async fn tasks(auth: Option<AuthInfo>) -> &'static str {
    if auth.is_some() { "signed in" } else { "anonymous" }
}

fn main() {
    let _ = App::new().service(notes).service(tasks);

    let decl = <__mcp_auth_resource_notes as DeclaredResource>::declaration();
    assert_eq!(decl.required_scopes, ["notes:read"]);
    let ops: Vec<_> = decl
        .operations
        .iter()
        .map(|op| (op.kind, op.name, op.scopes))
        .collect();
    assert_eq!(
        ops,
        [
            (OperationKind::Tool, "add_note", &["notes:write"][..]),
            (OperationKind::Tool, "delete", &["notes:write", "notes:admin"][..]),
            (OperationKind::Prompt, "summarize", &["notes:read"][..]),
            (OperationKind::Resource, "notes://{id}", &["notes:read"][..]),
            (OperationKind::Resource, "notes://private/{+path}", &["notes:admin"][..]),
            (OperationKind::Resource, "notes://index", &[][..]),
        ]
    );

    let decl = <__mcp_auth_resource_tasks as DeclaredResource>::declaration();
    assert_eq!(
        decl.scopes_supported,
        ["tasks:read", "tasks:write", "tasks:plan"]
    );
    assert_eq!(decl.required_scopes, ["tasks:read"]);
    assert_eq!(decl.operations.len(), 2);
}
