//! Request-time errors that are not about credentials: a body the guard
//! cannot authorize ([`RequestError`], 400/413/415 with a JSON-RPC error) and
//! wiring mistakes only a request can reveal (`Misconfiguration`, a 500).

use std::{borrow::Cow, fmt};

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
};
use serde_json::{Map, Value, json};

/// A request to a route with [`OperationScopes`](crate::OperationScopes)
/// that cannot be authorized because its body cannot be trusted: a
/// `Content-Encoding` other than identity (415), a body that is not JSON-RPC
/// (400), or `Mcp-Method`/`Mcp-Name` headers that disagree with the body
/// (400, JSON-RPC error `-32020` HeaderMismatch, MCP 2026-07-28).
///
/// The response body is a JSON-RPC error object, so MCP clients can show it.
#[derive(Debug, Clone)]
pub struct RequestError {
    status: StatusCode,
    code: i64,
    message: Cow<'static, str>,
    id: Value,
}

impl RequestError {
    /// JSON-RPC "Parse error".
    pub(crate) const PARSE_ERROR: i64 = -32700;
    /// JSON-RPC "Invalid Request".
    pub(crate) const INVALID_REQUEST: i64 = -32600;
    /// JSON-RPC "Invalid params".
    pub(crate) const INVALID_PARAMS: i64 = -32602;
    /// MCP 2026-07-28 HeaderMismatch.
    pub(crate) const HEADER_MISMATCH: i64 = -32020;
    /// "Session not found" (404), as the MCP SDKs answer an unknown
    /// `Mcp-Session-Id`.
    pub(crate) const SESSION_NOT_FOUND: i64 = -32001;

    pub(crate) fn new(
        status: StatusCode,
        code: i64,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            id: Value::Null,
        }
    }

    pub(crate) fn bad_request(code: i64, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// Answers with the id of the offending JSON-RPC request, when known.
    pub(crate) fn with_id(mut self, id: Option<&Value>) -> Self {
        if let Some(id) = id.filter(|id| matches!(id, Value::String(_) | Value::Number(_))) {
            self.id = id.clone();
        }
        self
    }

    /// The HTTP status (400 or 415).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The JSON-RPC error code (`-32700`, `-32600`, `-32602` or `-32020`).
    pub fn json_rpc_code(&self) -> i64 {
        self.code
    }

    /// The error message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (JSON-RPC {})", self.message, self.code)
    }
}

impl std::error::Error for RequestError {}

impl ResponseError for RequestError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if self.status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            // RFC 7694 §3: tell the client which content codings are accepted.
            res.insert_header((header::ACCEPT_ENCODING, "identity"));
        }
        res.insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .json(json!({
                "jsonrpc": "2.0",
                "id": self.id,
                "error": { "code": self.code, "message": self.message },
            }))
    }
}

/// A wiring mistake that could only be detected on a request (the rest fail
/// `build()` or app start). Answered with a 500; the cause is logged at
/// `error` once per kind, and shown in the body of debug builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Misconfiguration {
    NoMcpAuth,
    AmbiguousResource,
    UndeclaredResource,
    BodyAlreadyRead,
    InvalidComputedScope,
}

impl Misconfiguration {
    const ALL: usize = 5;

    fn reason(self) -> &'static str {
        match self {
            Self::NoMcpAuth => {
                "no `McpAuth` in app data: add `.app_data(mcp_auth.clone())` to the `App`"
            }
            Self::AmbiguousResource => {
                "several resources are configured and nothing says which one protects this route: \
                 `.wrap(auth.bearer_auth(resource)?)`, `.app_data(..)` it, or use `#[protected_resource]`"
            }
            Self::UndeclaredResource => {
                "this `#[protected_resource]` handler's resource is not in the `McpAuth` in app data \
                 (was it built with `without_declared_resources()`?)"
            }
            Self::BodyAlreadyRead => {
                "another extractor read the body before the guard could check operation scopes: \
                 take `AuthInfo` as the first handler argument, or `.wrap()` the `BearerAuth`"
            }
            Self::InvalidComputedScope => {
                "an `OperationScopes::computed` closure returned a value that is not an RFC 6749 scope-token"
            }
        }
    }

    /// The 500 response error, logging the cause the first time.
    pub(crate) fn error(self) -> actix_web::Error {
        static LOGGED: [std::sync::atomic::AtomicBool; Misconfiguration::ALL] =
            [const { std::sync::atomic::AtomicBool::new(false) }; Misconfiguration::ALL];
        if !LOGGED[self as usize].swap(true, std::sync::atomic::Ordering::Relaxed) {
            tracing::error!(reason = self.reason(), "mcp-auth-actix is misconfigured");
        }
        let mut body = Map::new();
        body.insert("error".into(), "server_error".into());
        body.insert(
            "error_description".into(),
            "The protected resource is misconfigured.".into(),
        );
        if cfg!(debug_assertions) {
            body.insert("cause".into(), self.reason().into());
        }
        let response = HttpResponse::InternalServerError().json(Value::Object(body));
        actix_web::error::InternalError::from_response(self.reason(), response).into()
    }
}
