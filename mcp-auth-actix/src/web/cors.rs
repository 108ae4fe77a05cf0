//! CORS for browser-based MCP clients (e.g. the MCP Inspector).
//!
//! Bearer tokens travel in a header a page must already hold, never in
//! cookies, so any origin may call: preflights are answered permissively
//! and responses carry `Access-Control-Allow-Origin: *`. A stricter policy
//! goes in an `actix-cors` layer wrapped *outside* the guard: it answers
//! preflights before they reach the guard and its headers replace these.

use actix_web::{
    HttpRequest, HttpResponse, HttpResponseBuilder,
    http::{Method, header},
};

/// An `OPTIONS` request with `Access-Control-Request-Method`: a browser
/// asking permission, which never carries credentials (Fetch standard).
pub(crate) fn is_preflight(req: &HttpRequest) -> bool {
    req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// 204 granting the requested method (or `methods`) and headers.
pub(crate) fn preflight(req: &HttpRequest, methods: Option<&'static str>) -> HttpResponse {
    let mut res = allow_any_origin(HttpResponse::NoContent());
    let requested = req.headers().get(header::ACCESS_CONTROL_REQUEST_METHOD);
    match (methods, requested) {
        (Some(methods), _) => {
            res.insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, methods));
        }
        (None, Some(method)) => {
            res.insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, method.clone()));
        }
        (None, None) => {}
    }
    res.insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"));
    if let Some(requested) = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        res.insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, requested.clone()))
            .insert_header((
                header::VARY,
                "Access-Control-Request-Method, Access-Control-Request-Headers",
            ));
    }
    res.finish()
}

/// Adds `Access-Control-Allow-Origin: *`.
pub(crate) fn allow_any_origin(mut builder: HttpResponseBuilder) -> HttpResponseBuilder {
    builder.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"));
    builder
}

/// Lets a browser read a protected response: `*` origin (unless a CORS
/// layer already decided) and the MCP headers a client needs to see
/// (`DPoP-Nonce` too: RFC 9449 §8.2 lets a server send a new nonce on any
/// response).
pub(crate) fn expose(headers: &mut header::HeaderMap) {
    if !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            header::HeaderValue::from_static("*"),
        );
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            header::HeaderValue::from_static("WWW-Authenticate, Mcp-Session-Id, DPoP-Nonce"),
        );
    }
}
