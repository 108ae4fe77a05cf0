//! Writing RFC 6750 challenges and JSON error bodies.

use actix_web::{HttpResponse, http::StatusCode};
use serde_json::json;

/// Formats `Bearer k="v", ...` with every value reduced to the characters
/// RFC 6750 §3 allows inside the quoted string (%x20-21 / %x23-5B / %x5D-7E),
/// so no value can break out of its quotes or smuggle header syntax.
pub(crate) fn bearer_challenge(params: &[(&str, &str)]) -> String {
    challenge("Bearer", params)
}

/// Formats `scheme k="v", ...` like [`bearer_challenge`] (RFC 9449 §7.1
/// uses the same syntax for `DPoP`).
pub(crate) fn challenge(scheme: &str, params: &[(&str, &str)]) -> String {
    let mut out = String::from(scheme);
    for (i, (key, value)) in params.iter().enumerate() {
        out.push_str(if i == 0 { " " } else { ", " });
        out.push_str(key);
        out.push_str("=\"");
        out.extend(value.chars().map(|c| match c {
            '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e' => c,
            _ => '?',
        }));
        out.push('"');
    }
    out
}

/// Joins scopes with single spaces (the `scope` parameter syntax).
pub(crate) fn join_scopes(scopes: &[impl AsRef<str>]) -> String {
    let mut out = String::new();
    for s in scopes {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(s.as_ref());
    }
    out
}

/// JSON body for a plain error status outside a protected route (e.g. 404 on
/// an unknown well-known path).
pub(crate) fn json_error(status: StatusCode, code: &str, description: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": code, "error_description": description }))
}
