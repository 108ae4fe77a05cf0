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

/// The method and name announced in the `Mcp-Method` and `Mcp-Name` headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderOperation {
    method: String,
    name: Option<String>,
}

impl HeaderOperation {
    /// Reads the headers: `None` when the client sent neither (clients of
    /// MCP versions before 2026-07-28).
    pub(crate) fn from_headers(headers: &header::HeaderMap) -> Result<Option<Self>, RequestError> {
        let method = single_header(headers, "mcp-method")?;
        let name = single_header(headers, "mcp-name")?;
        match (method, name) {
            (None, None) => Ok(None),
            (Some(method), name) => Ok(Some(Self {
                method,
                name: name.map(|n| decode_header_value(&n)).transpose()?,
            })),
            (None, Some(_)) => Err(mismatch("`Mcp-Name` was sent without `Mcp-Method`.")),
        }
    }

    pub(crate) fn as_operation(&self) -> Operation<'_> {
        Operation {
            method: &self.method,
            name: self.name.as_deref(),
            params: None,
            id: None,
        }
    }

    /// The body must be one request whose method and name are the headers'.
    fn cross_check(&self, operations: &[Operation<'_>]) -> Result<(), RequestError> {
        let [op] = operations else {
            return Err(mismatch(
                "`Mcp-Method` names one request, but the body is not exactly one request.",
            ));
        };
        if op.method != self.method || op.name != self.name.as_deref() {
            return Err(mismatch(
                "The `Mcp-Method`/`Mcp-Name` headers do not match the request body.",
            )
            .with_id(op.id));
        }
        Ok(())
    }
}

fn mismatch(message: &'static str) -> RequestError {
    RequestError::bad_request(RequestError::HEADER_MISMATCH, message)
}

fn single_header(headers: &header::HeaderMap, name: &str) -> Result<Option<String>, RequestError> {
    let mut values = headers.get_all(name);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(mismatch(
            "Send each of `Mcp-Method` and `Mcp-Name` at most once.",
        ));
    }
    value
        .to_str()
        .map(|v| Some(v.trim().to_owned()))
        .map_err(|_| mismatch("`Mcp-Method`/`Mcp-Name` must be visible ASCII."))
}

/// Values that are not plain ASCII travel as `=?base64?<standard base64>?=`.
fn decode_header_value(value: &str) -> Result<String, RequestError> {
    let Some(encoded) = value.strip_prefix("=?base64?") else {
        return Ok(value.to_owned());
    };
    let encoded = encoded.strip_suffix("?=").unwrap_or(encoded);
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| mismatch("`Mcp-Name` has an invalid base64 value."))
}

/// Refuses content codings: decoding here and again in the handler (or
/// not decoding here) would let the handler see a body the guard did not.
pub(crate) fn check_content_encoding(req: &HttpRequest) -> Result<(), RequestError> {
    let identity = req.headers().get_all(header::CONTENT_ENCODING).all(|v| {
        v.to_str()
            .is_ok_and(|v| v.trim().eq_ignore_ascii_case("identity"))
    });
    if identity {
        Ok(())
    } else {
        Err(RequestError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            RequestError::INVALID_REQUEST,
            "Compressed request bodies are not accepted on this endpoint; send identity.",
        ))
    }
}

/// Reads the whole body (after [`check_content_encoding`]), bounded by the
/// app's `PayloadConfig` (256 KiB by default).
pub(crate) async fn read_body(
    req: &HttpRequest,
    mut payload: Payload,
) -> Result<Bytes, actix_web::Error> {
    Bytes::from_request(req, &mut payload).await
}

/// Reads and drops a small unread body (at most 64 KiB, within 1 s): actix
/// closes the connection after a response to a request whose body was
/// not read, which would cost an MCP client a reconnect after every 401.
pub(crate) async fn drain(req: &HttpRequest, mut payload: Payload) {
    const LIMIT: u64 = 64 * 1024;
    let small = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|len| len <= LIMIT);
    if !small {
        return;
    }
    let read_all = async {
        let mut seen = 0u64;
        while let Some(Ok(chunk)) = payload.next().await {
            seen += chunk.len() as u64;
            if seen > LIMIT {
                break;
            }
        }
    };
    let _ = actix_rt::time::timeout(std::time::Duration::from_secs(1), read_all).await;
}

/// Parses a non-empty body as strict JSON: duplicate member names are
/// refused, since parsers disagree on which one wins.
fn parse_strict(bytes: &[u8]) -> Result<Value, RequestError> {
    serde_json::from_slice::<Strict>(bytes)
        .map(|strict| strict.0)
        .map_err(|_| {
            RequestError::bad_request(
                RequestError::PARSE_ERROR,
                "The request body is not valid JSON (or repeats a member name).",
            )
        })
}

/// The JSON-RPC requests and notifications of a message or a non-empty
/// batch (responses have no method and need no scopes).
fn operations(body: &Value) -> Result<Vec<Operation<'_>>, RequestError> {
    let messages: &[Value] = match body {
        Value::Array(batch) if !batch.is_empty() => batch,
        Value::Object(_) => std::slice::from_ref(body),
        _ => {
            return Err(RequestError::bad_request(
                RequestError::INVALID_REQUEST,
                "The body must be a JSON-RPC message or a non-empty batch of them.",
            ));
        }
    };
    let mut operations = Vec::with_capacity(messages.len());
    for message in messages {
        if let Some(op) = operation(message)? {
            operations.push(op);
        }
    }
    Ok(operations)
}

fn operation(message: &Value) -> Result<Option<Operation<'_>>, RequestError> {
    let invalid =
        |message: &'static str| RequestError::bad_request(RequestError::INVALID_REQUEST, message);
    let Value::Object(object) = message else {
        return Err(invalid("Every JSON-RPC message must be an object."));
    };
    let id = object.get("id");
    let method = match object.get("method") {
        None => return Ok(None),
        Some(Value::String(method)) => method.as_str(),
        Some(_) => return Err(invalid("`method` must be a string.").with_id(id)),
    };
    let params = object.get("params");
    if params.is_some_and(|p| !matches!(p, Value::Object(_) | Value::Array(_))) {
        return Err(invalid("`params` must be an object or an array.").with_id(id));
    }
    let member = match method {
        "tools/call" | "prompts/get" => Some("name"),
        m if is_resource_method(m) => Some("uri"),
        _ => None,
    };
    let name = match member {
        None => None,
        Some(member) => match params.and_then(|p| p.get(member)) {
            Some(Value::String(name)) => Some(name.as_str()),
            _ => {
                return Err(RequestError::bad_request(
                    RequestError::INVALID_PARAMS,
                    format!("`{method}` needs a string `params.{member}`."),
                )
                .with_id(id));
            }
        },
    };
    Ok(Some(Operation {
        method,
        name,
        params,
        id,
    }))
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

/// JSON that refuses duplicate member names.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON without duplicate member names")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(v.into())
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let Strict(value) = map.next_value()?;
            if object.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate member `{key}`")));
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
