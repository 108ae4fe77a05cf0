//! `cargo run -p mcp-auth-rmcp-example` (binary `rmcp_server`)
//!
//! An MCP server built with the official Rust SDK (`rmcp`) served over Actix
//! by `rmcp-actix-web`, protected by mcp-auth-actix:
//! - `BearerAuth` verifies every request for the resource (`mcp:read` required);
//! - its `OperationScopes` answer `tools/call add_note` without `mcp:write`
//!   with an HTTP 403 `insufficient_scope` challenge (step-up), before rmcp
//!   parses the request;
//! - tools read the caller with `mcp_auth::rmcp::auth_info(&context)`,
//!   bridged by one line: `.on_request_fn(mcp_auth::rmcp::forward_auth_info)`.
//!
//! Environment: the same as the quickstart (`BIND`, `MCP_RESOURCE`,
//! `MCP_AUTH_ISSUER`, `MCP_AUTH_ISSUER_TYPE`), plus `MCP_AUTH_DISABLED=1` to
//! serve the same tools without authentication (for protocol conformance runs)
//! and `MCP_STATEFUL=1` for MCP sessions (`Mcp-Session-Id`, SSE responses),
//! which mcp-auth-actix binds to the caller that opened them.

use std::sync::Arc;

use actix_web::{App, HttpServer};
use mcp_auth::{McpAuth, OperationScopes, ResourceConfig};
use rmcp::{
    ErrorData as McpError, RoleServer, ServerHandler,
    handler::server::wrapper::Parameters,
    model::{CallToolResult, ContentBlock, ServerCapabilities, ServerConfig},
    schemars,
    service::RequestContext,
    tool, tool_handler, tool_router,
    transport::streamable_http_server::session::local::LocalSessionManager,
};
use rmcp_actix_web::transport::StreamableHttpService;
use serde_json::json;

#[path = "../../common/mod.rs"]
mod common;

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct NoteRequest {
    /// The note text.
    text: String,
}

/// The tools; `#[tool_handler]` dispatches through `Self::tool_router()`.
#[derive(Clone)]
struct Notes;

#[tool_router]
impl Notes {
    #[tool(description = "Who is calling, with which scopes")]
    async fn whoami(
        &self,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let caller = match mcp_auth::rmcp::auth_info(&context) {
            Some(auth) => json!({
                "subject": auth.subject(),
                "client_id": auth.client_id(),
                "scopes": auth.scopes(),
            }),
            None => json!({ "anonymous": true }),
        };
        Ok(CallToolResult::success(vec![ContentBlock::text(
            caller.to_string(),
        )]))
    }

    #[tool(description = "Save a note (needs the mcp:write scope)")]
    async fn add_note(
        &self,
        Parameters(NoteRequest { text }): Parameters<NoteRequest>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        // The guard already answered 403 over HTTP; this is defence in depth.
        if let Some(auth) = mcp_auth::rmcp::auth_info(&context)
            && !auth.has_scope("mcp:write")
        {
            return Err(McpError::invalid_request("mcp:write is required", None));
        }
        Ok(CallToolResult::success(vec![ContentBlock::text(
            json!({ "saved": text }).to_string(),
        )]))
    }
}

#[tool_handler]
impl ServerHandler for Notes {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions("Notes, protected by mcp-auth-actix")
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let (bind, resource) = common::bind_and_resource();
    let disabled = std::env::var("MCP_AUTH_DISABLED").is_ok_and(|v| v == "1");
    let stateful = std::env::var("MCP_STATEFUL").is_ok_and(|v| v == "1");

    let mcp = StreamableHttpService::builder()
        .service_factory(Arc::new(|| Ok(Notes)))
        .session_manager(Arc::new(LocalSessionManager::default()))
        .stateful_mode(stateful)
        .json_response(!stateful)
        .on_request_fn(mcp_auth::rmcp::forward_auth_info)
        .build();

    if disabled {
        println!("MCP endpoint (no auth) {resource}");
        return HttpServer::new(move || App::new().service(mcp.clone().scope_with_path("/mcp")))
            .bind(&bind)?
            .run()
            .await;
    }

    let (server, embedded) = common::authorization_server().await?;
    let auth = McpAuth::builder()
        .without_declared_resources()
        .resource(
            ResourceConfig::new(&resource)
                .authorization_server(server)
                .scopes_supported(["mcp:read", "mcp:write"])
                .resource_name("rmcp notes"),
        )
        .build()
        .map_err(std::io::Error::other)?;
    let bearer = auth
        .bearer_auth(&resource)
        .map_err(std::io::Error::other)?
        .required_scopes(["mcp:read"])
        .and_then(|guard| {
            guard.operation_scopes(OperationScopes::new().tool("add_note", ["mcp:write"]))
        })
        .map_err(std::io::Error::other)?;

    println!("MCP endpoint     {resource}");
    if let Some(url) = auth.resource_metadata_url(&resource) {
        println!("Metadata         {url}");
    }
    if let Some(issuer) = &embedded {
        println!("Test issuer      {}", issuer.issuer());
        let token = issuer
            .token_builder(&resource)
            .scopes(&["mcp:read"])
            .expires_in(3600)
            .sign();
        println!("Read-only token  {token}");
    }

    HttpServer::new(move || {
        App::new()
            .app_data(auth.clone())
            .configure(mcp_auth::routes)
            .service(mcp.clone().scope_with_path("/mcp").wrap(bearer.clone()))
    })
    .bind(&bind)?
    .run()
    .await
}
