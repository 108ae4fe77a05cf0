//! [`OperationScopes`]: scopes per MCP operation (a tool, a prompt, a
//! resource URI), checked from the JSON-RPC body before the MCP server sees
//! it, and answered with a real HTTP 403 step-up challenge.
//!
//! An MCP server behind one endpoint cannot express "tool X needs scope Y"
//! with routes. The guard reads the raw body once (any method), refuses what
//! it cannot interpret instead of letting it through (a content coding: 415;
//! not JSON-RPC: 400; duplicate keys: 400), checks every message of a batch,
//! and hands the same bytes on. MCP 2026-07-28 `Mcp-Method`/`Mcp-Name`
//! headers are authorized before the body is read, then cross-checked
//! against it (`-32020` HeaderMismatch on disagreement).

use std::{collections::HashMap, fmt, sync::Arc};

use actix_web::{
    FromRequest, HttpRequest,
    dev::Payload,
    http::{StatusCode, header},
    web::Bytes,
};
use base64::Engine;
use futures_util::StreamExt;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use mcp_auth_rules::{self as rules, template::UriTemplate};

use crate::{
    __private::{OperationDeclaration, OperationKind},
    error::{ConfigError, RequestError},
};

mod body;
mod headers;

pub(crate) use body::{check_content_encoding, drain, read_body};
use body::{operations, parse_strict};
pub(crate) use headers::HeaderOperation;
use headers::mismatch;

/// The closure type of [`OperationScopes::computed`].
type Computed = dyn Fn(&Operation<'_>) -> Vec<String> + Send + Sync;

/// Scopes that individual MCP operations need on top of the route's
/// required scopes. Attach it to a guard with
/// [`BearerAuth::operation_scopes`](crate::BearerAuth::operation_scopes), or
/// declare it on a handler with `#[protected_resource(tool_scopes = {..})]`.
///
/// ```no_run
/// # use actix_web::{web, App, HttpResponse};
/// # fn demo(auth: mcp_auth::McpAuth) -> Result<(), mcp_auth::ConfigError> {
/// use mcp_auth::OperationScopes;
/// let guard = auth
///     .bearer_auth("https://api.example.com/mcp")?
///     .required_scopes(["notes:read"])?
///     .operation_scopes(
///         OperationScopes::new()
///             .tool("add_note", ["notes:write"])
///             .resource("notes://private/{+path}", ["notes:admin"])
///             .prompt("summarize_all", ["notes:admin"]),
///     )?;
/// let app = App::new()
///     .app_data(auth.clone())
///     .configure(mcp_auth::routes)
///     .service(web::resource("/mcp").wrap(guard).route(web::post().to(HttpResponse::Ok)));
/// # Ok(()) }
/// ```
///
/// A request is refused before the handler runs when its body cannot be
/// interpreted: 415 for any `Content-Encoding` but `identity`, 400 with a
/// JSON-RPC error for a body that is not JSON (or has duplicate keys), not
/// a JSON-RPC message or non-empty batch of them, a `tools/call` or
/// `prompts/get` without a string `params.name`, a `resources/read` without
/// a string `params.uri`, or `Mcp-Method`/`Mcp-Name` headers that disagree
/// with the body. The needed scopes of every matching rule are required
/// (all-of), across every message of a batch; one 403 lists them all.
#[derive(Clone, Default)]
pub struct OperationScopes(Arc<Rules>);

#[derive(Clone, Default)]
struct Rules {
    tools: HashMap<String, Vec<String>>,
    prompts: HashMap<String, Vec<String>>,
    resources: Vec<(UriTemplate, Vec<String>)>,
    methods: HashMap<String, Vec<String>>,
    computed: Vec<Arc<Computed>>,
    /// Template syntax errors, reported when the guard is configured.
    invalid_templates: Vec<String>,
}

impl fmt::Debug for OperationScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rules = &self.0;
        f.debug_struct("OperationScopes")
            .field("tools", &rules.tools)
            .field("prompts", &rules.prompts)
            .field(
                "resources",
                &rules
                    .resources
                    .iter()
                    .map(|(t, s)| (t.as_str(), s))
                    .collect::<Vec<_>>(),
            )
            .field("methods", &rules.methods)
            .field("computed", &rules.computed.len())
            .finish()
    }
}

fn owned(scopes: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
    scopes.into_iter().map(Into::into).collect()
}

impl OperationScopes {
    /// No operation needs extra scopes yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn rules(&mut self) -> &mut Rules {
        Arc::make_mut(&mut self.0)
    }

    /// `tools/call` of the tool `name` needs every scope in `scopes`.
    pub fn tool(
        mut self,
        name: impl Into<String>,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.rules().tools.insert(name.into(), owned(scopes));
        self
    }

    /// `prompts/get` of the prompt `name` needs every scope in `scopes`.
    pub fn prompt(
        mut self,
        name: impl Into<String>,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.rules().prompts.insert(name.into(), owned(scopes));
        self
    }

    /// `resources/read` (and `resources/subscribe`/`unsubscribe`) of a URI
    /// matching `uri` needs every scope in `scopes`. `uri` is a URI or an
    /// RFC 6570 template: `{var}` matches one non-empty path segment (no
    /// `/`, `?` or `#`), `{+var}` matches any non-empty text. Every
    /// matching rule applies.
    pub fn resource(
        mut self,
        uri: impl Into<String>,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        let uri = uri.into();
        let scopes = owned(scopes);
        match UriTemplate::parse(&uri) {
            Ok(template) => self.rules().resources.push((template, scopes)),
            Err(reason) => self.rules().invalid_templates.push(reason),
        }
        self
    }

    /// Any JSON-RPC request with this `method` (e.g. `resources/list`,
    /// `tools/call`) needs every scope in `scopes`.
    pub fn method(
        mut self,
        method: impl Into<String>,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.rules().methods.insert(method.into(), owned(scopes));
        self
    }

    /// Scopes computed from the request: `f` sees each JSON-RPC request
    /// (method, name or URI, params) and returns the scopes it needs, e.g.
    /// `format!("projects:{}:write", op.arguments()?["project"])`. Values
    /// that are not scope-tokens are a server error (500, logged).
    pub fn computed(
        mut self,
        f: impl Fn(&Operation<'_>) -> Vec<String> + Send + Sync + 'static,
    ) -> Self {
        self.rules().computed.push(Arc::new(f));
        self
    }

    pub(crate) fn from_declarations(operations: &[OperationDeclaration]) -> Self {
        operations
            .iter()
            .fold(Self::new(), |ops, op| match op.kind {
                OperationKind::Tool => ops.tool(op.name, op.scopes.iter().copied()),
                OperationKind::Prompt => ops.prompt(op.name, op.scopes.iter().copied()),
                OperationKind::Resource => ops.resource(op.name, op.scopes.iter().copied()),
            })
    }

    /// Whether any rule is configured (no rule: the body is never read).
    pub(crate) fn is_empty(&self) -> bool {
        let r = &self.0;
        r.tools.is_empty()
            && r.prompts.is_empty()
            && r.resources.is_empty()
            && r.methods.is_empty()
            && r.computed.is_empty()
            && r.invalid_templates.is_empty()
    }

    /// Checks every static scope (a scope-token, advertised in
    /// `scopes_supported` when the resource lists any) and every template.
    pub(crate) fn validate(
        &self,
        resource: &str,
        scopes_supported: &[String],
    ) -> Result<(), ConfigError> {
        let rules = &self.0;
        if let Some(reason) = rules.invalid_templates.first() {
            return Err(ConfigError::InvalidField {
                subject: resource.to_owned(),
                field: "operation_scopes",
                reason: reason.clone(),
            });
        }
        let all = rules
            .tools
            .values()
            .chain(rules.prompts.values())
            .chain(rules.methods.values())
            .chain(rules.resources.iter().map(|(_, s)| s))
            .flatten();
        for scope in all {
            check_scope(resource, "operation_scopes", scope, scopes_supported)?;
        }
        Ok(())
    }

    /// Every scope the operations need, in first-appearance order.
    pub(crate) fn needed(&self, operations: &[Operation<'_>]) -> Result<Vec<String>, BadScope> {
        let rules = &self.0;
        let mut needed: Vec<String> = Vec::new();
        let mut add = |scopes: &[String]| {
            for scope in scopes {
                if !needed.contains(scope) {
                    needed.push(scope.clone());
                }
            }
        };
        for op in operations {
            if let Some(scopes) = rules.methods.get(op.method) {
                add(scopes);
            }
            match (op.method, op.name) {
                ("tools/call", Some(name)) => add(rules.tools.get(name).map_or(&[], Vec::as_slice)),
                ("prompts/get", Some(name)) => {
                    add(rules.prompts.get(name).map_or(&[], Vec::as_slice))
                }
                (m, Some(uri)) if is_resource_method(m) => {
                    for (template, scopes) in &rules.resources {
                        if template.matches(uri) {
                            add(scopes);
                        }
                    }
                }
                _ => {}
            }
            for f in &rules.computed {
                let scopes = f(op);
                if scopes
                    .iter()
                    .any(|s| rules::scope::advertisable(s).is_err())
                {
                    return Err(BadScope);
                }
                add(&scopes);
            }
        }
        Ok(needed)
    }
}

/// A computed scope that is not a scope-token (a server bug).
#[derive(Debug)]
pub(crate) struct BadScope;

/// Checks one configured scope: a scope-token, and advertised when the
/// resource advertises any.
pub(crate) fn check_scope(
    resource: &str,
    field: &'static str,
    scope: &str,
    scopes_supported: &[String],
) -> Result<(), ConfigError> {
    let reason = rules::scope::advertisable(scope).err().or_else(|| {
        (!scopes_supported.is_empty() && !scopes_supported.iter().any(|s| s == scope))
            .then(|| "not listed in the resource's `scopes_supported`".to_owned())
    });
    match reason {
        Some(reason) => Err(ConfigError::InvalidScope {
            resource: resource.to_owned(),
            field,
            scope: scope.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

fn is_resource_method(method: &str) -> bool {
    matches!(
        method,
        "resources/read" | "resources/subscribe" | "resources/unsubscribe"
    )
}

/// One JSON-RPC request of the body, as [`OperationScopes::computed`] sees it.
#[derive(Debug, Clone, Copy)]
pub struct Operation<'a> {
    method: &'a str,
    name: Option<&'a str>,
    params: Option<&'a Value>,
    id: Option<&'a Value>,
}

impl<'a> Operation<'a> {
    /// The JSON-RPC `method`, e.g. `tools/call`.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The tool or prompt name (`params.name` of `tools/call`,
    /// `prompts/get`) or the resource URI (`params.uri` of `resources/read`,
    /// `resources/subscribe`, `resources/unsubscribe`).
    pub fn name(&self) -> Option<&'a str> {
        self.name
    }

    /// The `params` member.
    pub fn params(&self) -> Option<&'a Value> {
        self.params
    }

    /// `params.arguments` (tool and prompt arguments).
    pub fn arguments(&self) -> Option<&'a Value> {
        self.params?.get("arguments")
    }
}

/// The scopes the body's operations need, after cross-checking the
/// headers' operation, if any.
pub(crate) fn inspect(
    rules: &OperationScopes,
    bytes: &[u8],
    announced: Option<&HeaderOperation>,
) -> Result<Result<Vec<String>, BadScope>, RequestError> {
    if bytes.is_empty() {
        // No message, no operation: only the route's scopes apply. A header
        // announcing one is contradicted by the empty body.
        if announced.is_some() {
            return Err(mismatch("`Mcp-Method` was sent with an empty body."));
        }
        return Ok(Ok(Vec::new()));
    }
    let body = parse_strict(bytes)?;
    let operations = operations(&body)?;
    if let Some(announced) = announced {
        announced.cross_check(&operations)?;
    }
    Ok(rules.needed(&operations))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{headers::decode_header_value, *};

    fn needed(rules: &OperationScopes, body: Value) -> Vec<String> {
        let bytes = serde_json::to_vec(&body).unwrap();
        inspect(rules, &bytes, None).unwrap().unwrap()
    }

    fn call(name: &str) -> Value {
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": name}})
    }

    fn read(uri: &str) -> Value {
        json!({"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {"uri": uri}})
    }

    #[test]
    fn needed_scopes_table() {
        let rules = OperationScopes::new()
            .tool("add_note", ["w"])
            .tool("delete", ["w", "admin"])
            .prompt("secret", ["p"])
            .method("resources/list", ["list"])
            .resource("notes://{id}", ["r"])
            .resource("notes://private/{+path}", ["admin"])
            .computed(
                |op| match op.arguments().and_then(|a| a["project"].as_str()) {
                    Some(p) => vec![format!("project:{p}")],
                    None => vec![],
                },
            );
        let prompt = json!({"jsonrpc": "2.0", "id": 2, "method": "prompts/get", "params": {"name": "secret"}});
        let list = json!({"jsonrpc": "2.0", "id": 3, "method": "resources/list"});
        let project = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
            "params": {"name": "x", "arguments": {"project": "p1"}}});
        let cases: Vec<(Value, &[&str])> = vec![
            (call("add_note"), &["w"]),
            (call("whoami"), &[]),
            (json!([call("add_note"), call("delete")]), &["w", "admin"]),
            (
                json!([call("whoami"), {"jsonrpc": "2.0", "id": 9, "result": {}}, call("delete")]),
                &["w", "admin"],
            ),
            (prompt, &["p"]),
            (list, &["list"]),
            (read("notes://42"), &["r"]),
            (read("notes://a/b"), &[]),
            (read("notes://private/a/b"), &["admin"]),
            (read("notes://private/a"), &["admin"]),
            (read("notes://"), &[]),
            (project, &["project:p1"]),
            (
                json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
                &[],
            ),
        ];
        for (body, want) in cases {
            assert_eq!(needed(&rules, body.clone()), want, "{body}");
        }
    }

    #[test]
    fn bodies_that_cannot_be_interpreted_are_refused() {
        let rules = OperationScopes::new().tool("w", ["w"]);
        let cases: &[(&[u8], i64)] = &[
            (b"not json", -32700),
            (
                br#"{"method":"tools/call","params":{"name":"x","name":"w"}}"#,
                -32700,
            ),
            (br#"{"method":"tools/call","method":"tools/list"}"#, -32700),
            (b"[]", -32600),
            (b"42", -32600),
            (b"[1]", -32600),
            (br#"{"method":7}"#, -32600),
            (br#"{"method":"tools/call","params":"x"}"#, -32600),
            (br#"{"method":"tools/call"}"#, -32602),
            (br#"{"method":"tools/call","params":{"name":1}}"#, -32602),
            (br#"{"method":"resources/read","params":{}}"#, -32602),
            (
                br#"[{"method":"tools/list"},{"method":"prompts/get","params":{}}]"#,
                -32602,
            ),
        ];
        for (body, code) in cases {
            let err = inspect(&rules, body, None)
                .err()
                .unwrap_or_else(|| panic!("{} should be refused", String::from_utf8_lossy(body)));
            assert_eq!(
                err.json_rpc_code(),
                *code,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn headers_are_cross_checked() {
        let rules = OperationScopes::new().tool("w", ["w"]);
        let announced = |method: &str, name: Option<&str>| HeaderOperation {
            method: method.into(),
            name: name.map(Into::into),
        };
        let body = serde_json::to_vec(&call("w")).unwrap();
        let ok = inspect(&rules, &body, Some(&announced("tools/call", Some("w"))));
        assert_eq!(ok.unwrap().unwrap(), ["w"]);
        for bad in [
            announced("tools/call", Some("r")),
            announced("tools/call", None),
            announced("tools/list", None),
            announced("prompts/get", Some("w")),
        ] {
            let err = inspect(&rules, &body, Some(&bad)).err().unwrap();
            assert_eq!(err.json_rpc_code(), -32020, "{bad:?}");
        }
        let batch = serde_json::to_vec(&json!([call("w")])).unwrap();
        assert!(inspect(&rules, &batch, Some(&announced("tools/call", Some("w")))).is_ok());
        let two = serde_json::to_vec(&json!([call("w"), call("w")])).unwrap();
        assert!(inspect(&rules, &two, Some(&announced("tools/call", Some("w")))).is_err());
        assert!(inspect(&rules, b"", Some(&announced("tools/list", None))).is_err());
        assert_eq!(decode_header_value("=?base64?w6k=?=").unwrap(), "é");
        assert!(decode_header_value("=?base64?***?=").is_err());
    }
}
