//! [`ToolScopes`]: per-tool scopes for MCP `tools/call`, answered with an
//! HTTP 403 `insufficient_scope` challenge (MCP step-up authorization).
//!
//! An MCP server behind one endpoint cannot express "tool X needs scope Y"
//! with routes; the decision depends on the JSON-RPC body. This middleware
//! reads the (bounded) body once, finds every `tools/call` in it (batches
//! included), and checks the caller's [`AuthInfo`] before the MCP server
//! sees the request, so the client gets a real 403 with
//! `scope="<all scopes the call needs>"` instead of a JSON-RPC error inside
//! a 200 stream.

use std::{collections::HashMap, fmt, future::Future, pin::Pin, rc::Rc, sync::Arc};

use actix_web::{
    Error, HttpMessage,
    body::{EitherBody, MessageBody},
    dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready},
    http::Method,
    web::Bytes,
};
use futures_util::future::{Ready, ready};
use serde_json::Value;

use crate::{AuthInfo, error::AuthError};

/// Requires scopes per MCP tool. Wrap it *inside* the [`BearerAuth`](crate::BearerAuth)
/// middleware (actix runs the last `.wrap()` first):
///
/// ```no_run
/// # use actix_web::{web, App, HttpResponse};
/// # fn demo(auth: mcp_auth::McpAuth) -> Result<(), mcp_auth::ConfigError> {
/// let bearer = auth.bearer_auth("https://api.example.com/mcp")?.required_scopes(["mcp:read"]);
/// let tools = mcp_auth::ToolScopes::new().tool("add_note", ["mcp:write"]);
/// let app = App::new().app_data(auth.clone()).service(
///     web::resource("/mcp").wrap(tools).wrap(bearer).route(web::post().to(HttpResponse::Ok)),
/// );
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct ToolScopes {
    tools: Arc<HashMap<String, Vec<String>>>,
}

impl fmt::Debug for ToolScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.tools.iter()).finish()
    }
}

impl ToolScopes {
    /// No tool needs extra scopes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `tools/call` of `tool` needs every scope in `scopes`.
    pub fn tool(
        mut self,
        tool: impl Into<String>,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Arc::make_mut(&mut self.tools)
            .insert(tool.into(), scopes.into_iter().map(Into::into).collect());
        self
    }

    /// The scopes the JSON-RPC message(s) in `body` need, in a stable order.
    fn needed(&self, body: &Value) -> Vec<&str> {
        let messages: &[Value] = match body {
            Value::Array(batch) => batch,
            single => std::slice::from_ref(single),
        };
        let mut needed: Vec<&str> = Vec::new();
        for message in messages {
            if message.get("method").and_then(Value::as_str) != Some("tools/call") {
                continue;
            }
            let tool = message
                .get("params")
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str);
            for scope in tool.and_then(|t| self.tools.get(t)).into_iter().flatten() {
                if !needed.contains(&scope.as_str()) {
                    needed.push(scope);
                }
            }
        }
        needed
    }
}

impl<S, B> Transform<S, ServiceRequest> for ToolScopes
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = ToolScopesMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ToolScopesMiddleware {
            service: Rc::new(service),
            tools: self.clone(),
        }))
    }
}

/// The service produced by [`ToolScopes`].
#[doc(hidden)]
pub struct ToolScopesMiddleware<S> {
    service: Rc<S>,
    tools: ToolScopes,
}

impl<S, B> Service<ServiceRequest> for ToolScopesMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let tools = self.tools.clone();
        Box::pin(async move {
            if req.method() != Method::POST || tools.tools.is_empty() {
                return service
                    .call(req)
                    .await
                    .map(ServiceResponse::map_into_left_body);
            }
            let Some(auth) = req.extensions().get::<AuthInfo>().cloned() else {
                tracing::error!(
                    "`ToolScopes` ran without an `AuthInfo`: wrap it inside `BearerAuth`"
                );
                let err = AuthError::server_error("ToolScopes needs BearerAuth to run first");
                return Ok(req.error_response(err).map_into_right_body());
            };
            // Bounded by the app's `PayloadConfig` (256 KiB by default).
            let body = match req.extract::<Bytes>().await {
                Ok(body) => body,
                Err(err) => return Ok(req.error_response(err).map_into_right_body()),
            };
            if let Ok(message) = serde_json::from_slice::<Value>(&body) {
                let needed = tools.needed(&message);
                if let Err(err) = auth.require_scopes(&needed) {
                    return Ok(req.error_response(err).map_into_right_body());
                }
            }
            req.set_payload(Payload::from(body));
            service
                .call(req)
                .await
                .map(ServiceResponse::map_into_left_body)
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn needed_scopes_for_single_and_batch_calls() {
        let tools = ToolScopes::new()
            .tool("add_note", ["mcp:write"])
            .tool("delete", ["mcp:write", "mcp:admin"]);
        let call = |name: &str| json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name}});
        assert_eq!(tools.needed(&call("add_note")), ["mcp:write"]);
        assert!(tools.needed(&call("whoami")).is_empty());
        assert!(tools.needed(&json!({"method": "tools/list"})).is_empty());
        assert_eq!(
            tools.needed(&json!([call("add_note"), call("delete")])),
            ["mcp:write", "mcp:admin"]
        );
    }
}
