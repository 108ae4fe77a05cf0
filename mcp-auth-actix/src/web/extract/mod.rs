//! The [`AuthInfo`] and [`MaybeAuthInfo`] extractors and bearer-token
//! extraction (RFC 6750 §2.1).
//!
//! Which guard an extractor runs:
//! 1. a [`BearerAuth`] in app data (`web::resource(..).app_data(guard)`; the
//!    innermost one): it always runs, reusing a caller an outer guard
//!    verified for the same resource, and always checking its own scopes;
//! 2. else, the caller stored by a [`BearerAuth`] middleware, if one ran;
//! 3. else, the only resource of the [`McpAuth`] in app data, with no
//!    required scopes. With several resources and none of the above, the
//!    route is misconfigured (500, logged once).

mod auth_info;

use std::sync::Arc;

use actix_web::{
    FromRequest, HttpMessage, HttpRequest,
    dev::Payload,
    http::header::{self, HeaderMap},
};
use futures_util::future::{LocalBoxFuture, ready};

pub use auth_info::AuthInfo;

use crate::{
    BearerAuth, McpAuth,
    error::{AuthError, Misconfiguration},
    web::guard::{Guard, Mode, preflight},
};

/// The guard an extractor must run, or the caller a middleware stored.
enum Source<'a> {
    Guard(&'a Arc<Guard>),
    Stored(AuthInfo),
}

fn source(req: &HttpRequest) -> Result<Source<'_>, actix_web::Error> {
    if let Some(guard) = req.app_data::<BearerAuth>() {
        return Ok(Source::Guard(guard.guard()));
    }
    if let Some(auth) = req.extensions().get::<AuthInfo>() {
        return Ok(Source::Stored(auth.clone()));
    }
    let auth = McpAuth::from_request(req).ok_or_else(|| Misconfiguration::NoMcpAuth.error())?;
    auth.single_resource_guard()
        .map(|guard| Source::Guard(guard.guard()))
        .ok_or_else(|| Misconfiguration::AmbiguousResource.error())
}

fn extract(
    req: &HttpRequest,
    payload: &mut Payload,
    mode: Mode,
) -> LocalBoxFuture<'static, Result<Option<AuthInfo>, actix_web::Error>> {
    if let Some(answered) = preflight(req) {
        return answered;
    }
    match source(req) {
        Ok(Source::Guard(guard)) => guard.extract(req, payload, mode),
        Ok(Source::Stored(auth)) => Box::pin(ready(Ok(Some(auth)))),
        Err(err) => Box::pin(ready(Err(err))),
    }
}

impl FromRequest for AuthInfo {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let auth = extract(req, payload, Mode::Required);
        Box::pin(async move { auth.await?.ok_or_else(|| AuthError::missing_token().into()) })
    }
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
        let auth = extract(req, payload, Mode::Optional);
        Box::pin(async move { auth.await.map(MaybeAuthInfo) })
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
#[cfg(test)]
pub(crate) fn bearer_credentials(headers: &HeaderMap) -> Result<&[u8], AuthError> {
    credentials(headers, false).map(|(_, raw)| raw)
}

/// The scheme of the `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `Bearer` (RFC 6750).
    Bearer,
    /// `DPoP` (RFC 9449 §7.1), only recognized where DPoP is accepted.
    Dpop,
}

/// Like [`bearer_credentials`], also accepting `DPoP <token>` (scheme
/// case-insensitive) when `dpop` is set; without it, `DPoP` is an unknown
/// scheme (no credentials).
pub(crate) fn credentials(headers: &HeaderMap, dpop: bool) -> Result<(Scheme, &[u8]), AuthError> {
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
    let scheme = if scheme.eq_ignore_ascii_case(b"bearer") {
        Scheme::Bearer
    } else if dpop && scheme.eq_ignore_ascii_case(b"dpop") {
        Scheme::Dpop
    } else {
        return Err(AuthError::missing_token());
    };
    let start = rest.iter().position(|b| *b != b' ').unwrap_or(rest.len());
    Ok((scheme, &rest[start..]))
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
        assert_eq!(parse(&["DPoP abc"]), Err(MissingToken));
    }

    #[test]
    fn dpop_scheme_only_when_accepted() {
        let headers = |v: &str| {
            let mut h = HeaderMap::new();
            h.append(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            h
        };
        for v in ["DPoP abc", "dpop abc", "DPOP  abc"] {
            let h = headers(v);
            assert_eq!(credentials(&h, true).unwrap(), (Scheme::Dpop, &b"abc"[..]));
            assert!(credentials(&h, false).is_err());
        }
        let h = headers("Bearer abc");
        assert_eq!(
            credentials(&h, true).unwrap(),
            (Scheme::Bearer, &b"abc"[..])
        );
        assert!(credentials(&headers("DPoPabc"), true).is_err());
    }
}
