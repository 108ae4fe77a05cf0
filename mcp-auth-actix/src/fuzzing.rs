//! Entry points for `cargo fuzz` (feature `fuzzing`; not public API). Each
//! runs one parser of untrusted input the way a request or a fetch does,
//! with no network, and must never panic.

use std::{
    future::Future,
    pin::pin,
    task::{Context, Poll, Waker},
};

use actix_web::http::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};

use crate::{
    OperationScopes,
    auth_server::{AuthorizationServerMetadata, validate_server_config},
    verify::{ClaimPolicy, JwtOptions, JwtVerifier, now_secs, parse_jwks},
    web::extract::{check_token68, credentials},
    web::operations::{HeaderOperation, inspect},
};

/// The `Authorization` header parser and the token68 syntax check.
pub fn authorization_header(value: &[u8]) {
    let Ok(value) = HeaderValue::from_bytes(value) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value);
    if let Ok((_, raw)) = credentials(&headers, true)
        && let Ok(token) = std::str::from_utf8(raw)
    {
        let _ = check_token68(token);
    }
}

/// A JWT up to the issuer check (no trusted issuer, so no key lookup),
/// then its claims through the claim policy.
pub fn jwt(token: &str) {
    let verifier = JwtVerifier {
        options: JwtOptions::default(),
    };
    let policy = policy();
    let future = verifier.verify(token, &[], &policy, now_secs());
    // With no trusted issuer the verifier never awaits: one poll decides.
    let mut future = pin!(future);
    let polled = future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()));
    assert!(
        matches!(polled, Poll::Ready(Err(_))),
        "an untrusted token was accepted"
    );
    if let Some(payload) = token.split('.').nth(1)
        && let Ok(bytes) =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
        && let Ok(claims) = serde_json::from_slice::<Map<String, Value>>(&bytes)
    {
        let _ = policy.check(&claims, now_secs());
    }
}

/// Claims (a JSON object) through the claim policy.
pub fn claims(json: &[u8]) {
    if let Ok(claims) = serde_json::from_slice::<Map<String, Value>>(json) {
        let _ = policy().check(&claims, now_secs());
        let _ = crate::verify::scopes_of(&claims, &crate::verify::DEFAULT_SCOPE_CLAIMS);
        let _ = crate::verify::scopes_of(&claims, &["permissions", "roles", "scp"]);
    }
}

fn policy() -> ClaimPolicy {
    ClaimPolicy::example()
}

/// A JWK Set document, parsed into verification keys.
pub fn jwks(body: &[u8]) {
    let _ = parse_jwks(body);
}

/// Authorization server metadata, parsed and validated.
pub fn server_metadata(body: &[u8]) {
    if let Ok(metadata) = serde_json::from_slice::<AuthorizationServerMetadata>(body) {
        let _ = validate_server_config(&metadata, true);
    }
}

/// A JSON-RPC body (with optional `Mcp-Method`/`Mcp-Name` headers, split
/// from the input at the first two newlines) through the per-operation
/// scope scan.
pub fn json_rpc(input: &[u8]) {
    let mut parts = input.splitn(3, |b| *b == b'\n');
    let (Some(method), Some(name), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let mut headers = HeaderMap::new();
    for (header, value) in [("mcp-method", method), ("mcp-name", name)] {
        if !value.is_empty()
            && let Ok(value) = HeaderValue::from_bytes(value)
        {
            headers.insert(HeaderName::from_static(header), value);
        }
    }
    let rules = OperationScopes::new()
        .tool("add_note", ["write"])
        .prompt("secret", ["admin"])
        .resource("notes://{id}", ["read"])
        .resource("notes://private/{+path}", ["admin"])
        .method("resources/list", ["read"]);
    let Ok(announced) = HeaderOperation::from_headers(&headers) else {
        return;
    };
    let _ = inspect(&rules, body, announced.as_ref());
}

/// The forwarding headers of a trusted proxy. Input: the `Forwarded`,
/// `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-Prefix` values,
/// one per line (an empty line: not sent). Whatever they say, the origin is
/// an allow-listed one or none, and the prefix is empty or a clean path.
pub fn forwarded_headers(data: &[u8]) {
    use std::sync::OnceLock;
    static POLICY: OnceLock<crate::web::proxy::ProxyPolicy> = OnceLock::new();
    let policy = POLICY.get_or_init(|| {
        crate::TrustedProxies::new(["127.0.0.1"])
            .public_origins(["https://alt.example"])
            .build(
                [url::Url::parse("https://mcp.example").expect("origin")],
                false,
            )
            .expect("policy")
    });
    let names = [
        "forwarded",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-forwarded-prefix",
    ];
    let mut headers = HeaderMap::new();
    for (name, value) in names.iter().zip(data.split(|b| *b == b'\n')) {
        if let (false, Ok(value)) = (value.is_empty(), HeaderValue::from_bytes(value)) {
            headers.append(HeaderName::from_static(name), value);
        }
    }
    let public = policy.forwarded(Some(([127, 0, 0, 1], 4000).into()), &headers);
    if let Some(origin) = &public.origin {
        assert!(
            ["https://mcp.example/", "https://alt.example/"].contains(&origin.as_str()),
            "a forwarded origin outside the allow-list: {origin}"
        );
    }
    let prefix = &public.prefix;
    assert!(
        prefix.is_empty()
            || (prefix.starts_with('/')
                && !prefix.ends_with('/')
                && prefix[1..]
                    .split('/')
                    .all(|seg| !seg.is_empty() && seg != "." && seg != "..")),
        "an unclean forwarded prefix: {prefix:?}"
    );
}
