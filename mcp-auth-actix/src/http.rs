//! The one place that talks HTTP to authorization servers: bounded `awc`
//! requests (timeouts, size limit, no redirects, https-only except loopback)
//! returning a JSON object.
//!
//! `awc::Client` is `!Send`, so a fresh client is built per fetch on the
//! calling worker; fetches are rare (discovery, key rotation), so this costs
//! nothing on the request path.

use std::time::Duration;

use actix_web::http::header;
use awc::error::{ConnectError, SendRequestError};
use serde_json::{Map, Value};
use url::Url;

use crate::error::FetchError;
use mcp_auth_rules::resource::is_loopback;

/// Limits for every outgoing request (discovery, JWKS, introspection).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpOptions {
    /// Deadline for the whole exchange: connect, headers and body. Default: 5 s.
    pub(crate) timeout: Duration,
    /// Maximum response body size. Default: 512 KiB.
    pub(crate) max_body_bytes: usize,
    /// Allow plain `http://` to non-loopback hosts. Default: `false` (http is
    /// accepted only for `localhost`, `127.0.0.0/8` and `[::1]`).
    pub(crate) allow_insecure_http: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            max_body_bytes: 512 * 1024,
            allow_insecure_http: false,
        }
    }
}

impl HttpOptions {
    /// Sets [`timeout`](Self::timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets [`max_body_bytes`](Self::max_body_bytes).
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Sets [`allow_insecure_http`](Self::allow_insecure_http).
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Parses `url` and checks its scheme against these options.
    pub(crate) fn check_url(&self, url: &str) -> Result<Url, FetchError> {
        let parsed = Url::parse(url).map_err(|e| FetchError::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        match parsed.scheme() {
            "https" => Ok(parsed),
            "http" if self.allow_insecure_http || is_loopback(&parsed) => Ok(parsed),
            "http" => Err(FetchError::InsecureUrl {
                url: url.to_owned(),
            }),
            other => Err(FetchError::InvalidUrl {
                url: url.to_owned(),
                reason: format!("unsupported scheme `{other}`"),
            }),
        }
    }
}

/// A fetched JSON object and the freshness lifetime its server announced.
pub(crate) struct JsonResponse {
    pub(crate) body: Map<String, Value>,
    pub(crate) max_age: Option<Duration>,
}

/// A form-encoded POST with optional client authentication.
pub(crate) struct FormPost<'a> {
    pub(crate) form: &'a [(&'a str, &'a str)],
    pub(crate) authorization: Option<&'a str>,
}

/// TLS settings with an explicit crypto provider, so the process-wide rustls
/// default (which another crate may have made ambiguous) is never consulted.
#[cfg(feature = "rustls")]
fn tls_config() -> std::sync::Arc<rustls::ClientConfig> {
    static CONFIG: std::sync::OnceLock<std::sync::Arc<rustls::ClientConfig>> =
        std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| b.with_root_certificates(roots).with_no_client_auth())
                .unwrap_or_else(|_| {
                    unreachable!("aws-lc-rs supports the default protocol versions")
                });
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            std::sync::Arc::new(config)
        })
        .clone()
}

fn client(opts: &HttpOptions) -> awc::Client {
    let connector = awc::Connector::new().timeout(opts.timeout);
    #[cfg(feature = "rustls")]
    let connector = connector.rustls_0_23(tls_config());
    awc::Client::builder()
        .timeout(opts.timeout)
        .connector(connector)
        .disable_redirects()
        .add_default_header((header::ACCEPT, "application/json"))
        .add_default_header((
            header::USER_AGENT,
            concat!("mcp-auth-actix/", env!("CARGO_PKG_VERSION")),
        ))
        .finish()
}

/// GETs `url` (already checked with [`HttpOptions::check_url`]) and parses a JSON object.
pub(crate) async fn get_json(url: &Url, opts: &HttpOptions) -> Result<JsonResponse, FetchError> {
    fetch_json(url, None, opts).await
}

/// POSTs a form to `url` and parses a JSON object.
pub(crate) async fn post_form_json(
    url: &Url,
    post: FormPost<'_>,
    opts: &HttpOptions,
) -> Result<JsonResponse, FetchError> {
    fetch_json(url, Some(post), opts).await
}

/// One deadline for the whole exchange: connect, headers *and* body (awc's
/// own timeout stops at the headers, so a server that sends headers and then
/// stalls would hold the caller, and a single-flight fetch, forever).
async fn fetch_json(
    url: &Url,
    post: Option<FormPost<'_>>,
    opts: &HttpOptions,
) -> Result<JsonResponse, FetchError> {
    if url.scheme() == "https" && !cfg!(feature = "rustls") {
        return Err(FetchError::Request {
            url: url.to_string(),
            reason: "https needs the `rustls` feature of mcp-auth-actix, which this build does \
                     not enable"
                .to_owned(),
        });
    }
    match actix_rt::time::timeout(opts.timeout, exchange(url, post, opts)).await {
        Ok(result) => result,
        Err(_) => Err(timed_out(url, opts)),
    }
}

/// The error of an exchange that overran its deadline (ours or awc's).
fn timed_out(url: &Url, opts: &HttpOptions) -> FetchError {
    FetchError::Timeout {
        url: url.to_string(),
        limit: opts.timeout,
    }
}

async fn exchange(
    url: &Url,
    post: Option<FormPost<'_>>,
    opts: &HttpOptions,
) -> Result<JsonResponse, FetchError> {
    let client = client(opts);
    let request_error = |reason: String| FetchError::Request {
        url: url.to_string(),
        reason,
    };
    let sent = match post {
        None => client.get(url.as_str()).send().await,
        Some(post) => {
            let mut req = client.post(url.as_str());
            if let Some(auth) = post.authorization {
                req = req.insert_header((header::AUTHORIZATION, auth));
            }
            req.send_form(&post.form).await
        }
    };
    let mut res = sent.map_err(|e| match e {
        SendRequestError::Timeout | SendRequestError::Connect(ConnectError::Timeout) => {
            timed_out(url, opts)
        }
        other => request_error(other.to_string()),
    })?;
    if !res.status().is_success() {
        return Err(FetchError::Status {
            url: url.to_string(),
            status: res.status().as_u16(),
        });
    }
    let max_age = cache_max_age(res.headers());
    let bytes = res
        .body()
        .limit(opts.max_body_bytes)
        .await
        .map_err(|e| match e {
            awc::error::PayloadError::Overflow => FetchError::TooLarge {
                url: url.to_string(),
                limit: opts.max_body_bytes,
            },
            other => request_error(other.to_string()),
        })?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| FetchError::NotJson {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    match value {
        Value::Object(body) => Ok(JsonResponse { body, max_age }),
        _ => Err(FetchError::NotObject {
            url: url.to_string(),
        }),
    }
}

/// `Cache-Control: max-age=N` (ignoring `no-store`/`no-cache`, which yield 0).
fn cache_max_age(headers: &header::HeaderMap) -> Option<Duration> {
    let value = headers.get(header::CACHE_CONTROL)?.to_str().ok()?;
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(secs) = lower.strip_prefix("max-age=") {
            max_age = secs.trim_matches('"').parse().ok().map(Duration::from_secs);
        }
    }
    max_age
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_policy() {
        let opts = HttpOptions::default();
        assert!(opts.check_url("https://as.example.com/x").is_ok());
        assert!(opts.check_url("http://127.0.0.1:8080/x").is_ok());
        assert!(opts.check_url("http://localhost/x").is_ok());
        assert!(opts.check_url("http://[::1]:1/x").is_ok());
        assert!(matches!(
            opts.check_url("http://as.example.com/x"),
            Err(FetchError::InsecureUrl { .. })
        ));
        assert!(matches!(
            opts.check_url("ftp://as.example.com/x"),
            Err(FetchError::InvalidUrl { .. })
        ));
        assert!(matches!(
            opts.check_url("/relative"),
            Err(FetchError::InvalidUrl { .. })
        ));
        let lax = HttpOptions::default().allow_insecure_http(true);
        assert!(lax.check_url("http://as.example.com/x").is_ok());
    }

    #[test]
    fn max_age_parsing() {
        let mut h = header::HeaderMap::new();
        assert_eq!(cache_max_age(&h), None);
        h.insert(
            header::CACHE_CONTROL,
            "public, max-age=300".parse().unwrap(),
        );
        assert_eq!(cache_max_age(&h), Some(Duration::from_secs(300)));
        h.insert(header::CACHE_CONTROL, "no-store".parse().unwrap());
        assert_eq!(cache_max_age(&h), Some(Duration::ZERO));
        h.insert(header::CACHE_CONTROL, "max-age=abc".parse().unwrap());
        assert_eq!(cache_max_age(&h), None);
    }
}
