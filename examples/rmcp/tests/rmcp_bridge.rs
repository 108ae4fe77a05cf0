//! The official Rust MCP SDK (rmcp over rmcp-actix-web) behind `BearerAuth`
//! and `OperationScopes`: tools see the caller, step-up is an HTTP 403.

use std::sync::Arc;

use actix_web::{App, test};
use mcp_auth::{McpAuth, OperationScopes, ResourceConfig, testing::TestIssuer};
use rmcp::{
    ErrorData as McpError, RoleServer, ServerHandler,
    model::{CallToolResult, ContentBlock, ServerCapabilities, ServerConfig},
    service::RequestContext,
    tool, tool_handler, tool_router,
    transport::streamable_http_server::session::local::LocalSessionManager,
};
use rmcp_actix_web::transport::StreamableHttpService;
use serde_json::{Value, json};

const RESOURCE: &str = "http://127.0.0.1:8080/mcp";

#[derive(Clone)]
struct Tools;

#[tool_router]
impl Tools {
    #[tool(description = "caller")]
    async fn whoami(
        &self,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let auth = mcp_auth::rmcp::auth_info(&context)
            .ok_or_else(|| McpError::internal_error("no AuthInfo in the rmcp context", None))?;
        let text = json!({ "sub": auth.subject(), "scopes": auth.scopes() }).to_string();
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]))
    }

    #[tool(description = "write")]
    async fn write(&self) -> Result<CallToolResult, McpError> {
        Ok(CallToolResult::success(vec![ContentBlock::text("written")]))
    }
}

#[tool_handler]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

fn rpc(id: u32, method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
}

fn post(token: Option<&str>, body: Value) -> test::TestRequest {
    let req = test::TestRequest::post()
        .uri("/mcp")
        // rmcp checks Host against its loopback allow-list (DNS rebinding protection).
        .insert_header(("Host", "127.0.0.1:8080"))
        .insert_header(("Accept", "application/json, text/event-stream"))
        .set_json(body);
    match token {
        Some(t) => req.insert_header(("Authorization", format!("Bearer {t}"))),
        None => req,
    }
}

#[actix_web::test]
async fn tools_see_the_caller_and_step_up_is_a_403() {
    let issuer = TestIssuer::start().await;
    let auth = McpAuth::builder()
        .without_declared_resources()
        .resource(ResourceConfig::new(RESOURCE).authorization_server(issuer.discovery_config()))
        .build()
        .unwrap();
    let bearer = auth
        .bearer_auth(RESOURCE)
        .unwrap()
        .required_scopes(["mcp:read"])
        .unwrap()
        .operation_scopes(OperationScopes::new().tool("write", ["mcp:write"]))
        .unwrap();
    let mcp = StreamableHttpService::builder()
        .service_factory(Arc::new(|| Ok(Tools)))
        .session_manager(Arc::new(LocalSessionManager::default()))
        .stateful_mode(false)
        .json_response(true)
        .on_request_fn(mcp_auth::rmcp::forward_auth_info)
        .build();
    let app = test::init_service(
        App::new()
            .app_data(auth.clone())
            .configure(mcp_auth::routes)
            .service(mcp.scope_with_path("/mcp").wrap(bearer)),
    )
    .await;
    let read = issuer.token(RESOURCE, &["mcp:read"]);
    let write = issuer.token(RESOURCE, &["mcp:read", "mcp:write"]);
    let call = |name: &str| rpc(2, "tools/call", json!({ "name": name, "arguments": {} }));

    let res = test::call_service(&app, post(None, call("whoami")).to_request()).await;
    assert_eq!(res.status(), 401);

    let res = test::call_service(&app, post(Some(&read), call("whoami")).to_request()).await;
    assert_eq!(res.status(), 200);
    let body: Value = test::read_body_json(res).await;
    let text = body["result"]["content"][0]["text"].as_str().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap(),
        json!({"sub": "test-user", "scopes": ["mcp:read"]})
    );

    // Step-up over HTTP, before rmcp runs the tool; batches are inspected too.
    for body in [call("write"), json!([call("whoami"), call("write")])] {
        let res = test::call_service(&app, post(Some(&read), body).to_request()).await;
        assert_eq!(res.status(), 403);
        let challenge = res
            .headers()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(
            challenge.contains("error=\"insufficient_scope\", "),
            "{challenge}"
        );
        assert!(
            challenge.contains("scope=\"mcp:read mcp:write\""),
            "{challenge}"
        );
    }
    // The body read by the guard is handed on intact.
    let res = test::call_service(&app, post(Some(&write), call("write")).to_request()).await;
    assert_eq!(res.status(), 200);
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["result"]["content"][0]["text"], "written");
}
