//! The introspection call at run time: caches, single-flight per token, and
//! the checks on what the authorization server answers.

use super::*;

type Claims = Arc<Map<String, Value>>;
type Outcome = Result<Claims, AuthError>;
type Pending = watch::Receiver<Option<Outcome>>;

pub(crate) struct IntrospectionVerifier(Arc<Shared>);

struct Shared {
    config: Introspection,
    cache: Option<TokenCache<Claims>>,
    /// Refused tokens and the refusal to repeat.
    refused: Option<TokenCache<AuthError>>,
    in_flight: Mutex<HashMap<Arc<str>, Pending>>,
    /// The endpoint once known (explicit, or the one the servers publish).
    endpoint: OnceLock<Url>,
    ambiguity_logged: AtomicBool,
}

/// Removes a call from the in-flight map when its task ends, however it ends.
struct Landing {
    shared: Arc<Shared>,
    token: Arc<str>,
    pending: Pending,
}

impl Drop for Landing {
    fn drop(&mut self) {
        let mut flights = self
            .shared
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if flights
            .get(&self.token)
            .is_some_and(|p| p.same_channel(&self.pending))
        {
            flights.remove(&self.token);
        }
    }
}

impl IntrospectionVerifier {
    /// A verifier for `config` (already [`checked`](Introspection::checked)).
    pub(crate) fn new(config: Introspection) -> Self {
        let capacity = if config.cache_ttl.is_zero() {
            0
        } else {
            config.cache_capacity
        };
        let negative_capacity = if config.negative_cache_ttl.is_zero() {
            0
        } else {
            NEGATIVE_CACHE_CAPACITY
        };
        let endpoint = OnceLock::new();
        if let Some(url) = config
            .endpoint
            .as_deref()
            .and_then(|e| config.http.check_url(e).ok())
        {
            let _ = endpoint.set(url);
        }
        Self(Arc::new(Shared {
            cache: TokenCache::new(
                CacheKind::Introspection,
                capacity,
                crate::verify::DEFAULT_CACHE_BYTES,
            ),
            refused: TokenCache::new(
                CacheKind::Introspection,
                negative_capacity,
                NEGATIVE_CACHE_BYTES,
            ),
            in_flight: Mutex::new(HashMap::new()),
            endpoint,
            ambiguity_logged: AtomicBool::new(false),
            config,
        }))
    }

    /// A remembered answer for `token`: its active result, or its refusal.
    pub(crate) fn cached(&self, token: &str) -> Option<Outcome> {
        let (shared, token) = (&self.0, token.as_bytes());
        if let Some(claims) = shared.cache.as_ref().and_then(|c| c.get(token)) {
            return Some(Ok(claims));
        }
        shared.refused.as_ref().and_then(|c| c.get(token)).map(Err)
    }

    /// Asks the endpoint (see [`cached`](Self::cached) first).
    pub(crate) async fn introspect(
        &self,
        token: &str,
        servers: &[Arc<AuthServer>],
    ) -> Result<Arc<Map<String, Value>>, AuthError> {
        let shared = &self.0;
        let url = self.endpoint(servers).await?;
        let Some(mut pending) = self.join_or_start(token, url.clone()) else {
            // Too many distinct tokens in flight: this call is not shared.
            return shared.call(&token.into(), &url).await;
        };
        let wait = shared.config.http.timeout + FLIGHT_SLACK * 2;
        match actix_rt::time::timeout(wait, pending.wait_for(Option::is_some)).await {
            Ok(Ok(outcome)) => (*outcome).clone().unwrap_or_else(|| {
                Err(AuthError::unavailable(
                    Reason::Introspection,
                    "token introspection gave no result",
                ))
            }),
            Ok(Err(_)) => Err(AuthError::unavailable(
                Reason::Introspection,
                "token introspection was abandoned",
            )),
            Err(_) => Err(AuthError::unavailable(
                Reason::Introspection,
                "token introspection gave no result in time",
            )),
        }
    }

    /// The call in flight for `token`, or a new one started in a task of
    /// its own; `None` when too many calls are in flight to share another.
    fn join_or_start(&self, token: &str, url: Url) -> Option<Pending> {
        let mut flights = self.0.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pending) = flights.get(token) {
            return Some(pending.clone());
        }
        if flights.len() >= MAX_IN_FLIGHT {
            return None;
        }
        let (done, pending) = watch::channel(None);
        let token: Arc<str> = token.into();
        flights.insert(token.clone(), pending.clone());
        drop(flights);
        let landing = Landing {
            shared: self.0.clone(),
            token,
            pending: pending.clone(),
        };
        let limit = self.0.config.http.timeout + FLIGHT_SLACK;
        actix_rt::spawn(async move {
            let call = landing.shared.call(&landing.token, &url);
            match actix_rt::time::timeout(limit, call).await {
                Ok(outcome) => {
                    done.send_replace(Some(outcome));
                }
                Err(_) => tracing::warn!(
                    endpoint = %url,
                    "token introspection overran its deadline and was abandoned"
                ),
            }
            drop(landing);
        });
        Some(pending)
    }

    /// The endpoint: explicit, or the single one the servers publish.
    async fn endpoint(&self, servers: &[Arc<AuthServer>]) -> Result<Url, AuthError> {
        let shared = &self.0;
        if let Some(url) = shared.endpoint.get() {
            return Ok(url.clone());
        }
        let endpoint = match &shared.config.endpoint {
            Some(endpoint) => endpoint.clone(),
            None => {
                let mut published = Published::default();
                for server in servers {
                    let resolved = server.resolved().await?;
                    published.add(
                        server.issuer(),
                        resolved.metadata.introspection_endpoint.as_deref(),
                    );
                }
                match published.0.as_slice() {
                    [] => return Err(AuthError::server_error(NONE_PUBLISHED)),
                    [(_, endpoint)] => endpoint.clone(),
                    _ => {
                        let reason = published.ambiguity();
                        if !shared.ambiguity_logged.swap(true, Ordering::Relaxed) {
                            tracing::error!(%reason, "token introspection refused");
                        }
                        return Err(AuthError::server_error(reason));
                    }
                }
            }
        };
        let url = shared
            .config
            .http
            .check_url(&endpoint)
            .map_err(AuthError::server_error)?;
        Ok(shared.endpoint.get_or_init(|| url).clone())
    }
}

impl Shared {
    /// One introspection call; its result is cached before it is shared.
    async fn call(&self, token: &Arc<str>, url: &Url) -> Outcome {
        let authorization = self.config.auth.header();
        let started = Stopwatch::start();
        let response = http::post_form_json(
            url,
            FormPost {
                form: &[("token", token), ("token_type_hint", "access_token")],
                authorization: Some(&authorization),
            },
            &self.config.http,
        )
        .await;
        metrics::fetched(FetchKind::Introspection, started, response.as_ref().err());
        let response = response.map_err(|e| {
            // The error names the endpoint, never the token.
            tracing::warn!(endpoint = %url, error = %e, "token introspection failed");
            AuthError::unavailable(Reason::Introspection, e)
        })?;
        let claims = match accept(response.body) {
            Ok(claims) => claims,
            Err(refusal) => {
                if let Some(refused) = &self.refused {
                    let until = deadline(self.config.negative_cache_ttl);
                    refused.insert(token.clone(), refusal.clone(), until);
                }
                return Err(refusal);
            }
        };
        if let Some(cache) = &self.cache {
            let now = now_secs();
            let ttl = match claims.get("exp").and_then(Value::as_f64) {
                Some(exp) if exp > now as f64 => Duration::try_from_secs_f64(exp - now as f64)
                    .unwrap_or(Duration::MAX)
                    .min(self.config.cache_ttl),
                Some(_) => Duration::ZERO,
                None => self.config.cache_ttl,
            };
            cache.insert(token.clone(), claims.clone(), deadline(ttl));
        }
        Ok(claims)
    }
}

/// The claims of an active access token, or why the response refuses it.
fn accept(claims: Map<String, Value>) -> Outcome {
    if claims.get("active") != Some(&Value::Bool(true)) {
        return Err(AuthError::invalid_token(
            Reason::Inactive,
            "The access token is not active.",
        ));
    }
    for (member, accepted) in ACCESS_TOKEN_KINDS {
        match claims.get(member) {
            None | Some(Value::Null) => {}
            // RFC 9449 §6.2: a DPoP-bound token; accepted only with its
            // key binding (`cnf.jkt`), whose proof the guard then requires.
            Some(Value::String(v))
                if member == "token_type"
                    && v.eq_ignore_ascii_case("dpop")
                    && matches!(crate::dpop::binding(&claims), crate::dpop::Binding::Jkt(_)) => {}
            Some(Value::String(v)) if accepted.iter().any(|a| a.eq_ignore_ascii_case(v)) => {}
            Some(other) => {
                return Err(AuthError::invalid_token(
                    Reason::TokenType,
                    "The token is not an access token.",
                )
                .with_cause(format!("introspection reports `{member}`: {other}")));
            }
        }
    }
    Ok(Arc::new(claims))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::auth_server::{AuthServerType, AuthorizationServerMetadata};

    #[test]
    fn basic_auth_is_form_encoded() {
        let auth = ClientAuth::ClientSecretBasic {
            client_id: "rs:1".into(),
            client_secret: "p@ss word".into(),
        };
        assert_eq!(
            auth.header(),
            format!("Basic {}", STANDARD.encode("rs%3A1:p%40ss+word"))
        );
        assert!(!format!("{auth:?}").contains("p@ss"));
    }

    #[test]
    fn only_access_tokens_are_accepted() {
        let accepted = [
            json!({"active": true}),
            json!({"active": true, "token_type": "Bearer"}),
            json!({"active": true, "token_type": "bearer"}),
            json!({"active": true, "token_type": "access_token"}),
            json!({"active": true, "token_type": "urn:ietf:params:oauth:token-type:access_token"}),
            json!({"active": true, "token_type": null}),
            json!({"active": true, "token_use": "access"}),
            json!({"active": true, "token_use": "ACCESS_TOKEN"}),
            json!({"active": true, "typ": "Bearer", "token_type": "Bearer"}),
            json!({"active": true, "typ": "at+jwt"}),
            json!({"active": true, "token_type": "DPoP", "cnf": {"jkt": "abc"}}),
        ];
        for claims in accepted {
            let map = claims.as_object().unwrap().clone();
            assert!(accept(map).is_ok(), "{claims}");
        }
        let refused = [
            json!({"active": false, "token_type": "Bearer"}),
            json!({"active": "true"}),
            json!({}),
            json!({"active": true, "token_type": "refresh_token"}),
            json!({"active": true, "token_type": "Refresh_Token"}),
            json!({"active": true, "token_type": "urn:ietf:params:oauth:token-type:refresh_token"}),
            json!({"active": true, "token_type": "N_A"}),
            json!({"active": true, "token_type": "DPoP"}),
            json!({"active": true, "token_type": "DPoP", "cnf": {"x5t#S256": "abc"}}),
            json!({"active": true, "token_type": "DPoP", "cnf": {"jkt": ""}}),
            json!({"active": true, "token_type": ""}),
            json!({"active": true, "token_type": ["Bearer"]}),
            json!({"active": true, "token_use": "refresh"}),
            json!({"active": true, "token_use": "refresh_token"}),
            json!({"active": true, "token_use": "id"}),
            json!({"active": true, "token_type": "Bearer", "typ": "Refresh"}),
            json!({"active": true, "typ": "ID"}),
        ];
        for claims in refused {
            let map = claims.as_object().unwrap().clone();
            let err = accept(map).expect_err(&claims.to_string());
            assert_eq!(
                err.kind(),
                crate::error::AuthErrorKind::InvalidToken,
                "{claims}"
            );
        }
    }

    fn resolved(issuer: &str, introspection: Option<&str>) -> AuthServerConfig {
        let metadata = AuthorizationServerMetadata {
            issuer: issuer.into(),
            introspection_endpoint: introspection.map(Into::into),
            ..Default::default()
        };
        AuthServerConfig::resolved(metadata, AuthServerType::OAuth)
    }

    #[test]
    fn build_time_checks() {
        const R: &str = "https://api.example/mcp";
        let i = || Introspection::bearer("t");
        let a = resolved("https://a.example", Some("https://a.example/introspect"));
        let b = resolved("https://b.example", Some("https://b.example/introspect"));
        let b_same = resolved("https://b.example", Some("https://a.example/introspect"));
        let none = resolved("https://c.example", None);
        let lazy = AuthServerConfig::discover_as("https://d.example", AuthServerType::OAuth);
        let ok = |i: Introspection, servers: &[AuthServerConfig]| i.checked(false, R, servers);

        assert!(ok(i(), std::slice::from_ref(&a)).is_ok());
        assert!(ok(i(), &[a.clone(), none.clone()]).is_ok());
        assert!(
            ok(i(), &[a.clone(), b_same]).is_ok(),
            "one distinct endpoint"
        );
        assert!(
            ok(i(), &[a.clone(), lazy.clone()]).is_ok(),
            "decided at first use"
        );
        assert!(ok(i(), std::slice::from_ref(&lazy)).is_ok());
        let err = ok(i(), &[a.clone(), b.clone()]).unwrap_err().to_string();
        assert!(err.contains("set `Introspection::endpoint`"), "{err}");
        assert!(
            err.contains("https://a.example, https://b.example"),
            "{err}"
        );
        assert!(ok(i(), &[a.clone(), b.clone(), lazy]).is_err());
        assert!(ok(i(), std::slice::from_ref(&none)).is_err());
        let explicit = i().endpoint("https://b.example/introspect");
        assert!(ok(explicit, &[a.clone(), b]).is_ok());

        let insecure = resolved("https://e.example", Some("http://e.example/introspect"));
        assert!(ok(i(), std::slice::from_ref(&insecure)).is_err());
        assert!(
            i().checked(true, R, std::slice::from_ref(&insecure))
                .is_ok()
        );
        for bad in [
            "not a url",
            "/introspect",
            "ftp://a.example/i",
            "http://a.example/i",
        ] {
            assert!(
                ok(i().endpoint(bad), std::slice::from_ref(&a)).is_err(),
                "{bad}"
            );
        }
        let lax = i().endpoint("http://a.example/i").checked(true, R, &[a]);
        assert!(lax.is_ok_and(|i| i.http.allow_insecure_http));
    }
}
