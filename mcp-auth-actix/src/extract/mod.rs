//! The [`AuthInfo`] extractor and bearer-token extraction (RFC 6750 §2.1).
//!
//! Resolution order for `AuthInfo` in a handler:
//! 1. the value stored by the [`BearerAuth`] middleware, if it ran;
//! 2. a [`BearerAuth`] in app data (`web::resource(..).app_data(bearer)`):
//!    the extractor verifies the token itself;
//! 3. the only resource of the [`McpAuth`] in app data, with no required scopes.

mod auth_info;

use actix_web::{
    FromRequest, HttpMessage, HttpRequest,
    dev::Payload,
    http::header::{self, HeaderMap},
};
use futures_util::future::LocalBoxFuture;

pub use auth_info::AuthInfo;

use crate::{__private::ResourceDeclaration, BearerAuth, McpAuth, error::AuthError};

impl FromRequest for AuthInfo {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(auth) = req.extensions().get::<AuthInfo>() {
            let auth = auth.clone();
            return Box::pin(async move { Ok(auth) });
        }
        let req = req.clone();
        Box::pin(async move {
            let guard = match (req.app_data::<BearerAuth>(), McpAuth::from_request(&req)) {
                (Some(guard), _) => guard,
                (None, Some(auth)) => match auth.single_resource_guard() {
                    Some(guard) => guard,
                    None => {
                        return Err(unprotected_route(
                            "several resources are configured; protect the route with a `BearerAuth` or `#[protected_resource]`",
                        ));
                    }
                },
                (None, None) => return Err(unprotected_route("no `McpAuth` in app data")),
            };
            guard.authenticate(&req).await
        })
    }
}

fn unprotected_route(reason: &'static str) -> actix_web::Error {
    tracing::error!(
        reason,
        "`AuthInfo` extractor cannot tell which resource protects this route"
    );
    AuthError::server_error(reason).into()
}

/// Whether the request presents any credentials at all (a Bearer
/// `Authorization` header, well-formed or not). Only the scheme is looked
/// at; the token's syntax is checked by the verification that follows.
pub(crate) fn has_credentials(req: &HttpRequest) -> bool {
    !matches!(
        bearer_credentials(req.headers()).map_err(|e| e.kind()),
        Err(crate::error::AuthErrorKind::MissingToken)
    )
}

/// Optional authentication that stays strict: `MaybeAuthInfo(None)` when the
/// request has no credentials, but a 401/400 when it has invalid ones.
///
/// Prefer it to `Option<AuthInfo>`, whose actix blanket implementation turns
/// every error (an expired or forged token included) into `None`.
#[derive(Debug, Clone)]
pub struct MaybeAuthInfo(pub Option<AuthInfo>);

impl FromRequest for MaybeAuthInfo {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if !has_credentials(req) {
            return Box::pin(async { Ok(MaybeAuthInfo(None)) });
        }
        let auth = AuthInfo::from_request(req, payload);
        Box::pin(async move { auth.await.map(|a| MaybeAuthInfo(Some(a))) })
    }
}

/// Verifies the request for a `#[protected_resource]` declaration.
pub(crate) async fn authenticate_declared(
    req: &HttpRequest,
    declaration: &'static ResourceDeclaration,
) -> Result<AuthInfo, actix_web::Error> {
    let Some(auth) = McpAuth::from_request(req) else {
        tracing::error!(
            handler = declaration.handler,
            "`#[protected_resource]` handler called but no `McpAuth` is in app data"
        );
        return Err(AuthError::server_error("no `McpAuth` in app data").into());
    };
    match auth.declared_guard(declaration) {
        Some(guard) => guard.authenticate(req).await,
        None => {
            tracing::error!(
                resource = declaration.resource,
                "`McpAuth` was built without `#[protected_resource]` declarations"
            );
            Err(AuthError::server_error("declared resource is not configured").into())
        }
    }
}

/// The raw credentials after `Bearer ` in the `Authorization` header.
///
/// * no header, or another scheme (e.g. `Basic`): no credentials (401
///   without an error code, RFC 6750 §3.1);
/// * several `Authorization` headers: 400 `invalid_request`.
///
/// `Bearer` without a token, or a token that is not token68, is also a 400,
/// but the UTF-8 and token68 checks run in the resource only on a cache
/// miss: a cached token was valid when it was stored and is compared in
/// full, so the hot path skips two per-byte scans.
///
/// Tokens in the query string or form body are never read (OAuth 2.1 §5.1).
pub(crate) fn bearer_credentials(headers: &HeaderMap) -> Result<&[u8], AuthError> {
    let mut values = headers.get_all(header::AUTHORIZATION);
    let Some(value) = values.next() else {
        return Err(AuthError::missing_token());
    };
    if values.next().is_some() {
        return Err(AuthError::invalid_request(
            "Send exactly one `Authorization` header.",
        ));
    }
    let bytes = value.as_bytes();
    let (scheme, rest) = match bytes.iter().position(|b| *b == b' ') {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[][..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err(AuthError::missing_token());
    }
    let start = rest.iter().position(|b| *b != b' ').unwrap_or(rest.len());
    Ok(&rest[start..])
}

/// Which bytes may appear in a token68 before its `=` padding.
const TOKEN68: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] =
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        b += 1;
    }
    table
};

/// RFC 6750 §2.1: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
pub(crate) fn check_token68(token: &str) -> Result<(), AuthError> {
    let body = token.trim_end_matches('=').as_bytes();
    if !body.is_empty() && body.iter().all(|b| TOKEN68[usize::from(*b)]) {
        Ok(())
    } else {
        Err(malformed())
    }
}

pub(crate) fn malformed() -> AuthError {
    AuthError::invalid_request("Malformed `Authorization` header; expected `Bearer <token>`.")
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;
    use crate::error::AuthErrorKind;

    fn parse(values: &[&str]) -> Result<String, AuthErrorKind> {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        // The same steps as a cache miss in `ProtectedResource::verify`.
        let raw = bearer_credentials(&headers).map_err(|e| e.kind())?;
        let token = std::str::from_utf8(raw).map_err(|_| malformed().kind())?;
        check_token68(token).map_err(|e| e.kind())?;
        Ok(token.to_owned())
    }

    #[test]
    fn header_table() {
        use AuthErrorKind::*;
        assert_eq!(parse(&[]), Err(MissingToken));
        assert_eq!(
            parse(&["Bearer abc.def-_~+/=="]).as_deref(),
            Ok("abc.def-_~+/==")
        );
        assert_eq!(parse(&["bearer abc"]).as_deref(), Ok("abc"));
        assert_eq!(parse(&["BEARER abc"]).as_deref(), Ok("abc"));
        assert_eq!(parse(&["Bearer   abc"]).as_deref(), Ok("abc"));
        assert_eq!(parse(&["Basic Zm9vOmJhcg=="]), Err(MissingToken));
        assert_eq!(parse(&["Bearer"]), Err(InvalidRequest));
        assert_eq!(parse(&["Bearer "]), Err(InvalidRequest));
        assert_eq!(parse(&["Bearer a b"]), Err(InvalidRequest));
        assert_eq!(parse(&["Bearer a,b"]), Err(InvalidRequest));
        assert_eq!(parse(&["Bearer \"a\""]), Err(InvalidRequest));
        assert_eq!(parse(&["Bearer ==="]), Err(InvalidRequest));
        assert_eq!(parse(&["Bearer a=b"]), Err(InvalidRequest));
        assert_eq!(parse(&["Bearer a", "Bearer a"]), Err(InvalidRequest));
    }
}
