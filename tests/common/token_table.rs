//! Table tests of tokens and requests against the standard app: each row is
//! `(case name, token or request, expected outcome)`, and a failure names
//! the case.

use actix_web::test::TestRequest;
use jsonwebtoken::Algorithm;
use mcp_auth::{JwtOptions, testing::TestIssuer};

use super::{
    Resp,
    app::{build_auth, default_app},
    assert_ok, assert_rejected, bearer, send,
};

/// What a row expects.
pub enum Expect {
    /// 200 from the echo handler, as `test-user` of the issuer.
    Accepted,
    /// 401 `invalid_token` whose description contains this text.
    Invalid(&'static str),
    /// This status and RFC 6750 `error` (`None`: no credentials).
    Refused(u16, Option<&'static str>),
}

/// The JWT options of the app a table runs against.
#[derive(Clone, Copy, Debug)]
pub enum Options {
    /// `JwtOptions::default()`.
    Default,
    /// `strict_rfc9068(true)`.
    Strict,
    /// `algorithms([RS256])`.
    Rs256Only,
}

impl Options {
    fn jwt(self) -> JwtOptions {
        match self {
            Self::Default => JwtOptions::default(),
            Self::Strict => JwtOptions::default().strict_rfc9068(true),
            Self::Rs256Only => JwtOptions::default().algorithms([Algorithm::RS256]),
        }
    }
}

/// Sends each token as `Bearer` to `/mcp` of an app trusting `issuer`
/// (discovered) with `options`, checks the outcome, and that the token is
/// never echoed back.
pub async fn check_tokens(
    issuer: &TestIssuer,
    options: Options,
    cases: Vec<(&str, String, Expect)>,
) {
    let rows = cases
        .into_iter()
        .map(|(name, token, expect)| (name, bearer(&token), expect, Some(token)))
        .collect();
    check(issuer, options, rows).await;
}

/// Sends each request to an app trusting `issuer` (discovered) with
/// `options` and checks the outcome.
pub async fn check_requests(
    issuer: &TestIssuer,
    options: Options,
    cases: Vec<(&str, TestRequest, Expect)>,
) {
    let rows = cases
        .into_iter()
        .map(|(name, req, expect)| (name, req, expect, None))
        .collect();
    check(issuer, options, rows).await;
}

async fn check(
    issuer: &TestIssuer,
    options: Options,
    rows: Vec<(&str, TestRequest, Expect, Option<String>)>,
) {
    let auth = build_auth(issuer.discovery_config(), options.jwt());
    let app = default_app(&auth).await;
    for (name, req, expect, token) in rows {
        let ctx = format!("[{name}] ({options:?})");
        let resp = send(&app, req).await;
        assert!(resp.status < 500, "{ctx}: server error {}", resp.status);
        match expect {
            Expect::Accepted => {
                let body = assert_ok(&resp, &ctx);
                assert_eq!(body["iss"], issuer.issuer(), "{ctx}");
                assert_eq!(body["sub"], "test-user", "{ctx}");
            }
            Expect::Refused(status, error) => assert_rejected(&resp, status, error, None, &ctx),
            Expect::Invalid(why) => {
                assert_rejected(&resp, 401, Some("invalid_token"), None, &ctx);
                let description = resp.json()["error_description"].to_string();
                assert!(
                    description.contains(why),
                    "{ctx}: {description} lacks {why:?}"
                );
            }
        }
        if let Some(token) = token.filter(|t| t.len() > 16) {
            assert!(!echoes(&resp, &token), "{ctx}: the token was echoed back");
        }
    }
}

/// Whether the body or any header contains `token`.
fn echoes(resp: &Resp, token: &str) -> bool {
    resp.text().contains(token)
        || resp
            .headers
            .iter()
            .any(|(_, v)| String::from_utf8_lossy(v.as_bytes()).contains(token))
}
