//! The Actix web layer: what runs on a request.
//!
//! - `extract/`: the [`AuthInfo`](crate::AuthInfo) and
//!   [`MaybeAuthInfo`](crate::MaybeAuthInfo) extractors and bearer-token
//!   parsing (RFC 6750 §2.1);
//! - `guard.rs`: the one guard behind the middleware, the extractors and
//!   `#[protected_resource]`;
//! - `middleware.rs`: [`BearerAuth`](crate::BearerAuth) as middleware and
//!   extractor configuration;
//! - `operations.rs`: per-operation scopes read from the JSON-RPC body;
//! - `cors.rs`: preflights and the headers browser clients need;
//! - `proxy.rs`: [`TrustedProxies`](crate::TrustedProxies), the public URL
//!   of a request that came through a reverse proxy;
//! - `self_check.rs`: the warnings of a resource's first request;
//! - `sessions.rs`: MCP sessions bound to the caller that opened them;
//! - `well_known.rs`: the RFC 9728 metadata endpoints ([`routes`](crate::routes)).

pub(crate) mod cors;
pub(crate) mod extract;
pub(crate) mod guard;
pub(crate) mod middleware;
pub(crate) mod operations;
pub(crate) mod proxy;
pub(crate) mod self_check;
pub(crate) mod sessions;
pub(crate) mod well_known;
