//! Metrics, and the labels shared with logs.
//!
//! With the `metrics` feature the crate records through the
//! [`metrics`](https://docs.rs/metrics/0.24) facade: install any recorder
//! (Prometheus, StatsD, OpenTelemetry …) and these series appear. Without
//! it, every recording function here is empty and compiles to nothing; the
//! labels still name the fields of the `mcp_auth.verify` tracing span.
//!
//! | series | type | labels |
//! |---|---|---|
//! | `mcp_auth_requests_total` | counter | `resource`, `outcome`, `reason` |
//! | `mcp_auth_verification_seconds` | histogram | `resource`, `cache` |
//! | `mcp_auth_token_cache_hits_total` | counter | `cache` |
//! | `mcp_auth_token_cache_misses_total` | counter | `cache` |
//! | `mcp_auth_token_cache_evictions_total` | counter | `cache` |
//! | `mcp_auth_token_cache_entries` | gauge | `cache` |
//! | `mcp_auth_token_cache_bytes` | gauge | `cache` |
//! | `mcp_auth_fetches_total` | counter | `kind`, `result` |
//! | `mcp_auth_fetch_seconds` | histogram | `kind` |
//! | `mcp_auth_key_rotations_total` | counter | `issuer` |
//!
//! * `requests_total`: one per decision of a guard on a request (nested
//!   guards decide once each; CORS preflights are not counted).
//! * `verification_seconds`: one per token check, from the guard's first
//!   look at the header; `cache` is `hit` when a cache answered (the
//!   verified-token cache, or introspection's answers and refusals), else
//!   `miss`.
//! * `token_cache_*`: `cache` is `jwt` (verified JWTs) or `introspection`
//!   (its active results and refusals); hits and misses are counted once per
//!   token check; evictions are entries dropped to make room (not expiries);
//!   entries and bytes are summed over every resource's cache.
//! * `fetches_total`, `fetch_seconds`: one per request to an authorization
//!   server, `kind` `jwks`, `discovery` (one per well-known URL tried) or
//!   `introspection`.
//! * `key_rotations_total`: a refreshed JWKS differs from the one it replaces.
//!
//! Every label value is bounded by the configuration (`resource`, `issuer`)
//! or by the fixed lists below, chosen where the error is made: nothing
//! from a token (claims, `kid`, the token itself) or from the request's
//! path or body ever becomes a label.
//!
//! | `outcome` | `reason` |
//! |---|---|
//! | `ok` | `none`, `anonymous` (`MaybeAuthInfo` without credentials) |
//! | `missing_token` | `none` |
//! | `invalid_request` | `header` |
//! | `invalid_token` | `malformed`, `too_large`, `algorithm`, `crit`, `token_type`, `issuer`, `unknown_key`, `signature`, `expired`, `not_yet_valid`, `audience`, `claims`, `inactive`, `rejected` |
//! | `invalid_token` (DPoP) | `binding` (proof by another key than `cnf.jkt`), `bound_as_bearer`, `unbound` (DPoP scheme, token without `cnf.jkt`), `dpop_required` (Bearer where DPoP is required) |
//! | `invalid_dpop_proof` | `too_large`, `malformed`, `token_type`, `algorithm`, `crit`, `key`, `private_key`, `weak_key`, `signature`, `jti`, `htm`, `htu`, `iat`, `ath`, `replay`, `missing`, `multiple` |
//! | `use_dpop_nonce` | `nonce` |
//! | `insufficient_scope` | `none` |
//! | `unavailable` | `jwks`, `discovery`, `introspection`, `verifier`, `replay_store` (DPoP) |
//! | `server_error` | `config`, `misconfigured`, `backend` (DPoP) |
//! | `bad_request` | `content_encoding`, `too_large`, `body`, `parse_error`, `invalid_request`, `invalid_params`, `header_mismatch`, `other` |
//!
//! `result` of a fetch: `ok`, `timeout`, `error` (connection or transfer),
//! `status` (not 2xx), `too_large`, `invalid` (not JSON, not an object, not
//! the expected document), `url` (refused before sending).
//!
//! The request path's series are registered with the recorder at their
//! first use, then updated through their handles: a cached token costs no
//! allocation and no registry lookup. So install the recorder first (before
//! building `McpAuth`, which also describes the series to it).

use actix_web::http::StatusCode;

use crate::error::{AuthError, AuthErrorKind, FetchError, Reason, RequestError};

/// A guard's decision on one request, as the `outcome` and `reason` labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    pub(crate) outcome: &'static str,
    pub(crate) reason: &'static str,
}

impl Decision {
    /// Let through with a verified caller.
    pub(crate) const ACCEPTED: Self = Self::new("ok", "none");
    /// Let through without credentials, as `MaybeAuthInfo(None)`.
    pub(crate) const ANONYMOUS: Self = Self::new("ok", "anonymous");
    /// A wiring mistake found on a request (500, logged once).
    pub(crate) const MISCONFIGURED: Self = Self::new("server_error", "misconfigured");

    const fn new(outcome: &'static str, reason: &'static str) -> Self {
        Self { outcome, reason }
    }

    /// Refused with an RFC 6750 error (or a 503/500 without one).
    pub(crate) fn refused(err: &AuthError) -> Self {
        if let Some(dpop) = err.dpop_refusal() {
            let outcome = match (dpop.code, err.kind()) {
                (Some(code), _) => code,
                (None, AuthErrorKind::Unavailable) => "unavailable",
                (None, _) => "server_error",
            };
            return Self::new(outcome, dpop.reason);
        }
        let outcome = match err.kind() {
            AuthErrorKind::MissingToken => "missing_token",
            AuthErrorKind::InvalidRequest => "invalid_request",
            AuthErrorKind::InvalidToken => "invalid_token",
            AuthErrorKind::InsufficientScope => "insufficient_scope",
            AuthErrorKind::Unavailable => "unavailable",
            AuthErrorKind::ServerError => "server_error",
        };
        Self::new(outcome, reason(err.reason()))
    }

    /// A body that cannot be authorized against operation scopes.
    pub(crate) fn bad_request(err: &RequestError) -> Self {
        let reason = match err.json_rpc_code() {
            _ if err.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE => "content_encoding",
            RequestError::PARSE_ERROR => "parse_error",
            RequestError::INVALID_REQUEST => "invalid_request",
            RequestError::INVALID_PARAMS => "invalid_params",
            RequestError::HEADER_MISMATCH => "header_mismatch",
            RequestError::SESSION_NOT_FOUND => "session",
            _ => "other",
        };
        Self::new("bad_request", reason)
    }

    /// A body that could not be read (over the payload limit, or broken).
    pub(crate) fn unreadable_body(status: StatusCode) -> Self {
        let too_large = status == StatusCode::PAYLOAD_TOO_LARGE;
        Self::new("bad_request", if too_large { "too_large" } else { "body" })
    }
}

fn reason(reason: Reason) -> &'static str {
    match reason {
        Reason::Unspecified => "none",
        Reason::Header => "header",
        Reason::Malformed => "malformed",
        Reason::TooLarge => "too_large",
        Reason::Algorithm => "algorithm",
        Reason::Critical => "crit",
        Reason::TokenType => "token_type",
        Reason::Issuer => "issuer",
        Reason::UnknownKey => "unknown_key",
        Reason::Signature => "signature",
        Reason::Expired => "expired",
        Reason::NotYetValid => "not_yet_valid",
        Reason::Audience => "audience",
        Reason::Claims => "claims",
        Reason::Inactive => "inactive",
        Reason::Rejected => "rejected",
        Reason::Jwks => "jwks",
        Reason::Discovery => "discovery",
        Reason::Introspection => "introspection",
        Reason::Verifier => "verifier",
        Reason::Config => "config",
    }
}

/// Whether a token check was answered from a cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cache {
    Hit,
    Miss,
}

/// Which token cache (the `cache` label of the `token_cache` series).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheKind {
    /// Verified JWTs.
    Jwt,
    /// Introspection results, active or refused.
    Introspection,
}

/// Where an outgoing request went (the `kind` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FetchKind {
    Jwks,
    Discovery,
    Introspection,
}

/// When a timed operation started (nothing without the feature).
pub(crate) struct Stopwatch {
    #[cfg(feature = "metrics")]
    started: std::time::Instant,
}

impl Stopwatch {
    pub(crate) fn start() -> Self {
        Self {
            #[cfg(feature = "metrics")]
            started: std::time::Instant::now(),
        }
    }
}

/// The series of one protected resource, keyed once (the request path
/// then only looks them up in the recorder).
pub(crate) struct ResourceMetrics {
    #[cfg(feature = "metrics")]
    series: on::ResourceSeries,
}

#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
impl ResourceMetrics {
    /// `cache`: the resource's token cache, if it has one. Also describes
    /// every series to the recorder installed now.
    pub(crate) fn new(resource: &str, cache: Option<CacheKind>) -> Self {
        Self {
            #[cfg(feature = "metrics")]
            series: on::ResourceSeries::new(resource, cache),
        }
    }

    /// Counts a guard's decision.
    pub(crate) fn decided(&self, decision: Decision) {
        #[cfg(feature = "metrics")]
        self.series.decided(decision);
    }

    /// Times a token check and counts its cache hit or miss.
    pub(crate) fn verified(&self, started: Stopwatch, cache: Cache) {
        #[cfg(feature = "metrics")]
        self.series.verified(&started, cache);
    }
}

#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
impl CacheKind {
    /// A cache's entries and bytes went from `before` to `after`.
    pub(crate) fn resized(self, before: (usize, usize), after: (usize, usize)) {
        #[cfg(feature = "metrics")]
        on::resized(self, before, after);
    }

    /// An entry was dropped to make room.
    pub(crate) fn evicted(self) {
        #[cfg(feature = "metrics")]
        on::evicted(self);
    }
}

/// Counts and times a request to an authorization server.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn fetched(kind: FetchKind, started: Stopwatch, error: Option<&FetchError>) {
    #[cfg(feature = "metrics")]
    on::fetched(kind, &started, error);
}

/// Counts a JWKS refresh that changed `issuer`'s key set.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn keys_rotated(issuer: &str) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(on::KEY_ROTATIONS, "issuer" => issuer.to_owned()).increment(1);
}

/// The recording itself, with the feature.
#[cfg(feature = "metrics")]
mod on {
    use ::metrics::{
        Counter, Gauge, Histogram, Key, Label, Level, Metadata, SharedString, Unit,
        describe_counter, describe_gauge, describe_histogram, with_recorder,
    };

    use std::sync::{Arc, OnceLock};

    use super::{Cache, CacheKind, Decision, FetchKind, Stopwatch};
    use crate::error::FetchError;

    const REQUESTS: &str = "mcp_auth_requests_total";
    const VERIFICATION_SECONDS: &str = "mcp_auth_verification_seconds";
    const FETCHES: &str = "mcp_auth_fetches_total";
    const FETCH_SECONDS: &str = "mcp_auth_fetch_seconds";
    pub(super) const KEY_ROTATIONS: &str = "mcp_auth_key_rotations_total";

    static METADATA: Metadata<'static> =
        Metadata::new("mcp_auth", Level::INFO, Some(module_path!()));

    static JWT: [Label; 1] = [Label::from_static_parts("cache", "jwt")];
    static INTROSPECTION: [Label; 1] = [Label::from_static_parts("cache", "introspection")];

    /// `$name{cache="jwt"}` and `$name{cache="introspection"}`, indexed by
    /// `CacheKind`, keyed at compile time.
    macro_rules! per_cache {
        ($name:literal) => {
            [
                Key::from_static_parts($name, &JWT),
                Key::from_static_parts($name, &INTROSPECTION),
            ]
        };
    }

    static HITS: [Key; 2] = per_cache!("mcp_auth_token_cache_hits_total");
    static MISSES: [Key; 2] = per_cache!("mcp_auth_token_cache_misses_total");
    static EVICTIONS: [Key; 2] = per_cache!("mcp_auth_token_cache_evictions_total");
    static ENTRIES: [Key; 2] = per_cache!("mcp_auth_token_cache_entries");
    static BYTES: [Key; 2] = per_cache!("mcp_auth_token_cache_bytes");

    fn counter(key: &Key) -> Counter {
        with_recorder(|r| r.register_counter(key, &METADATA))
    }

    fn gauge(key: &Key) -> Gauge {
        with_recorder(|r| r.register_gauge(key, &METADATA))
    }

    fn histogram(key: &Key) -> Histogram {
        with_recorder(|r| r.register_histogram(key, &METADATA))
    }

    impl Stopwatch {
        fn seconds(&self) -> f64 {
            self.started.elapsed().as_secs_f64()
        }
    }

    pub(super) struct ResourceSeries {
        resource: SharedString,
        cache: Option<CacheKind>,
        /// Registered with the recorder installed at the first use.
        handles: OnceLock<Handles>,
    }

    /// What the request path updates, without a registry lookup.
    struct Handles {
        /// `requests_total{outcome="ok", reason="none"}`.
        accepted: Counter,
        /// `verification_seconds`, indexed by `Cache`.
        seconds: [Histogram; 2],
        /// `token_cache_hits_total` and `_misses_total`, indexed by `Cache`.
        lookups: Option<[Counter; 2]>,
    }

    impl ResourceSeries {
        pub(super) fn new(resource: &str, cache: Option<CacheKind>) -> Self {
            describe();
            Self {
                resource: SharedString::from(Arc::<str>::from(resource)),
                cache,
                handles: OnceLock::new(),
            }
        }

        fn handles(&self) -> &Handles {
            self.handles.get_or_init(|| {
                let seconds = |cache: &'static str| {
                    let labels = vec![
                        Label::new("resource", self.resource.clone()),
                        Label::from_static_parts("cache", cache),
                    ];
                    histogram(&Key::from_parts(VERIFICATION_SECONDS, labels))
                };
                Handles {
                    accepted: counter(&requests(&self.resource, Decision::ACCEPTED)),
                    seconds: [seconds("hit"), seconds("miss")],
                    lookups: self
                        .cache
                        .map(|kind| [&HITS, &MISSES].map(|keys| counter(&keys[kind as usize]))),
                }
            })
        }

        pub(super) fn decided(&self, decision: Decision) {
            if decision == Decision::ACCEPTED {
                self.handles().accepted.increment(1);
            } else {
                counter(&requests(&self.resource, decision)).increment(1);
            }
        }

        pub(super) fn verified(&self, started: &Stopwatch, cache: Cache) {
            let handles = self.handles();
            handles.seconds[cache as usize].record(started.seconds());
            if let Some(lookups) = &handles.lookups {
                lookups[cache as usize].increment(1);
            }
        }
    }

    fn requests(resource: &SharedString, decision: Decision) -> Key {
        Key::from_parts(
            REQUESTS,
            vec![
                Label::new("resource", resource.clone()),
                Label::from_static_parts("outcome", decision.outcome),
                Label::from_static_parts("reason", decision.reason),
            ],
        )
    }

    pub(super) fn resized(kind: CacheKind, before: (usize, usize), after: (usize, usize)) {
        for (keys, before, after) in [(&ENTRIES, before.0, after.0), (&BYTES, before.1, after.1)] {
            let handle = || gauge(&keys[kind as usize]);
            if after > before {
                handle().increment((after - before) as f64);
            } else if after < before {
                handle().decrement((before - after) as f64);
            }
        }
    }

    pub(super) fn evicted(kind: CacheKind) {
        counter(&EVICTIONS[kind as usize]).increment(1);
    }

    pub(super) fn fetched(kind: FetchKind, started: &Stopwatch, error: Option<&FetchError>) {
        let kind = match kind {
            FetchKind::Jwks => "jwks",
            FetchKind::Discovery => "discovery",
            FetchKind::Introspection => "introspection",
        };
        let result = match error {
            None => "ok",
            Some(FetchError::Timeout { .. }) => "timeout",
            Some(FetchError::Request { .. }) => "error",
            Some(FetchError::Status { .. }) => "status",
            Some(FetchError::TooLarge { .. }) => "too_large",
            Some(FetchError::InvalidUrl { .. } | FetchError::InsecureUrl { .. }) => "url",
            Some(
                FetchError::NotJson { .. }
                | FetchError::NotObject { .. }
                | FetchError::Schema { .. }
                | FetchError::IssuerMismatch { .. }
                | FetchError::NotFound { .. }
                | FetchError::InvalidMetadata { .. },
            ) => "invalid",
        };
        ::metrics::histogram!(FETCH_SECONDS, "kind" => kind).record(started.seconds());
        ::metrics::counter!(FETCHES, "kind" => kind, "result" => result).increment(1);
    }

    /// Units and help texts, for recorders that show them (Prometheus
    /// `# HELP`); they reach the recorder installed when this runs.
    fn describe() {
        describe_counter!(
            REQUESTS,
            Unit::Count,
            "Decisions of mcp-auth guards on requests"
        );
        describe_histogram!(
            VERIFICATION_SECONDS,
            Unit::Seconds,
            "Time to check a bearer token (cache hit or full verification)"
        );
        describe_counter!(
            "mcp_auth_token_cache_hits_total",
            Unit::Count,
            "Token checks answered from a token cache"
        );
        describe_counter!(
            "mcp_auth_token_cache_misses_total",
            Unit::Count,
            "Token checks a token cache could not answer"
        );
        describe_counter!(
            "mcp_auth_token_cache_evictions_total",
            Unit::Count,
            "Token cache entries dropped to make room"
        );
        describe_gauge!(
            "mcp_auth_token_cache_entries",
            Unit::Count,
            "Tokens held by the token caches"
        );
        describe_gauge!(
            "mcp_auth_token_cache_bytes",
            Unit::Bytes,
            "Estimated memory of the token caches"
        );
        describe_counter!(FETCHES, Unit::Count, "Requests to authorization servers");
        describe_histogram!(
            FETCH_SECONDS,
            Unit::Seconds,
            "Duration of requests to authorization servers"
        );
        describe_counter!(
            KEY_ROTATIONS,
            Unit::Count,
            "JWKS refreshes that changed an issuer's key set"
        );
    }
}
