//! One protected resource at run time: its served metadata, its trusted
//! authorization servers and how its tokens are verified.

use std::{sync::Arc, time::Duration};

use actix_web::web::Bytes;

use super::{
    ClaimPolicy, JwtVerifier, Key, TokenCache, TokenVerifier, VerifyError, deadline,
    introspection::IntrospectionVerifier, now_secs,
};
use crate::{
    AuthInfo,
    auth_server::AuthServer,
    error::{AuthError, Reason},
    metrics::{Cache, CacheKind, ResourceMetrics, Stopwatch},
    resource::ResourceContext,
    web::extract::{check_token68, malformed},
    web::proxy::{ProxyPolicy, PublicRequest, is_within},
};

pub(crate) enum Method {
    Jwt {
        verifier: JwtVerifier,
        cache: Option<TokenCache<CachedJwt>>,
    },
    Introspection(IntrospectionVerifier),
    Custom(Arc<dyn TokenVerifier>),
}

impl Method {
    /// The token cache that answers this method's checks, if any.
    pub(crate) fn cache_kind(&self) -> Option<CacheKind> {
        match self {
            Self::Jwt { cache: Some(_), .. } => Some(CacheKind::Jwt),
            Self::Introspection(_) => Some(CacheKind::Introspection),
            Self::Jwt { cache: None, .. } | Self::Custom(_) => None,
        }
    }
}

/// A verified JWT remembered with the key that signed it, so retiring the
/// key also retires the cache entry.
#[derive(Clone)]
pub(crate) struct CachedJwt {
    auth: AuthInfo,
    key: Arc<Key>,
}

/// How a resource checks DPoP proofs (mode `Allowed` or `Required`).
pub(crate) struct ResourceDpop {
    pub(crate) mode: crate::DpopMode,
    pub(crate) options: crate::DpopOptions,
    /// The public origin (scheme, host, port) the proofs' `htu` must name,
    /// with the request path.
    pub(crate) origin: url::Url,
}

impl ResourceDpop {
    /// The URL a proof must name for a request to `path`: the configured
    /// origin, or the allow-listed one a trusted proxy named, with the
    /// prefix that proxy stripped.
    pub(crate) fn request_url(&self, public: &PublicRequest, path: &str) -> url::Url {
        let mut url = public.origin.as_ref().unwrap_or(&self.origin).clone();
        url.set_path(&format!("{}{path}", public.prefix));
        url
    }
}

pub(crate) struct ProtectedResource {
    /// The identifier served in metadata and expected in `aud`.
    pub(crate) id: String,
    /// The identifier's path (where requests to the resource arrive).
    pub(crate) path: String,
    /// The advertised scopes (guards' scopes must be among them when set).
    pub(crate) scopes_supported: Vec<String>,
    pub(crate) well_known_path: String,
    pub(crate) metadata_json: Bytes,
    pub(crate) context: Arc<ResourceContext>,
    pub(crate) servers: Vec<Arc<AuthServer>>,
    pub(crate) policy: ClaimPolicy,
    pub(crate) method: Method,
    pub(crate) metrics: ResourceMetrics,
    /// DPoP, when the resource accepts it.
    pub(crate) dpop: Option<ResourceDpop>,
    /// The reverse proxies whose forwarding headers are read.
    pub(crate) proxies: Option<Arc<ProxyPolicy>>,
    /// The self-check of the first request (`web/self_check.rs`).
    pub(crate) self_check: std::sync::Once,
}

impl ProtectedResource {
    /// Where the client sent `req`, as far as a trusted proxy says. A
    /// forwarded prefix counts only when it puts the request within this
    /// resource's path: a proxy cannot make a request to this resource
    /// pass for one to another path (whose DPoP proofs would then be
    /// accepted here).
    pub(crate) fn public_request(&self, req: &actix_web::HttpRequest) -> PublicRequest {
        let Some(proxies) = &self.proxies else {
            return PublicRequest::default();
        };
        let mut public = proxies.public_request(req);
        if !public.prefix.is_empty() {
            let public_path = format!("{}{}", public.prefix, req.path());
            if !is_within(&self.path, &public_path) {
                tracing::debug!("a forwarded path prefix does not lead to the resource; ignored");
                public.prefix.clear();
            }
        }
        public
    }

    /// Verifies the raw credentials for this resource (scopes are the
    /// caller's business). A cache hit compares bytes only; the UTF-8 and
    /// token68 syntax checks run on a miss.
    pub(crate) async fn verify(&self, raw: &[u8]) -> Result<AuthInfo, AuthError> {
        let started = Stopwatch::start();
        let mut cache = Cache::Miss;
        let result = self.verify_inner(raw, &mut cache).await;
        self.metrics.verified(started, cache);
        result.map_err(|e| e.in_context(&self.context))
    }

    /// The verified-token cache hit for `raw`, if any (JWT only).
    pub(crate) fn cached(&self, raw: &[u8]) -> Option<AuthInfo> {
        let Method::Jwt {
            cache: Some(cache), ..
        } = &self.method
        else {
            return None;
        };
        let hit = cache.get(raw)?;
        if hit.key.is_published() {
            return Some(hit.auth);
        }
        cache.remove(raw);
        None
    }

    /// Sets `cache` to `Hit` when a cache answered.
    async fn verify_inner(&self, raw: &[u8], cache: &mut Cache) -> Result<AuthInfo, AuthError> {
        if let Some(auth) = self.cached(raw) {
            *cache = Cache::Hit;
            return Ok(auth);
        }
        let text = std::str::from_utf8(raw).map_err(|_| malformed())?;
        check_token68(text)?;
        let token: Arc<str> = text.into();
        let now = now_secs();
        match &self.method {
            Method::Jwt { verifier, cache } => {
                let verified = verifier
                    .verify(&token, &self.servers, &self.policy, now)
                    .await?;
                let auth =
                    AuthInfo::from_claims(token.clone(), verified.claims, &self.id, &self.context);
                if let (Some(cache), Some(exp)) = (cache, auth.expires_at_secs()) {
                    let ttl = Duration::from_secs(exp.saturating_sub(now));
                    let entry = CachedJwt {
                        auth: auth.clone(),
                        key: verified.key,
                    };
                    cache.insert(token, entry, deadline(ttl));
                }
                Ok(auth)
            }
            Method::Introspection(introspection) => {
                let claims = match introspection.cached(&token) {
                    Some(remembered) => {
                        *cache = Cache::Hit;
                        remembered?
                    }
                    None => introspection.introspect(&token, &self.servers).await?,
                };
                self.policy.check(&claims, now)?;
                Ok(AuthInfo::from_claims(
                    token,
                    (*claims).clone(),
                    &self.id,
                    &self.context,
                ))
            }
            Method::Custom(verifier) => {
                let claims = verifier.verify(&token).await.map_err(|e| match e {
                    VerifyError::Invalid(cause) => {
                        AuthError::invalid_token(Reason::Rejected, "The access token is invalid.")
                            .with_cause(cause)
                    }
                    VerifyError::Unavailable(cause) => {
                        AuthError::unavailable(Reason::Verifier, cause)
                    }
                })?;
                self.policy.check(&claims, now)?;
                Ok(AuthInfo::from_claims(
                    token,
                    claims,
                    &self.id,
                    &self.context,
                ))
            }
        }
    }
}
