//! Errors, split by when they happen:
//! - [`ConfigError`] (`config.rs`): the operator's mistake, returned by
//!   [`McpAuthBuilder::build`](crate::McpAuthBuilder::build);
//! - [`FetchError`] (`fetch.rs`): discovery, JWKS or introspection calls;
//! - [`AuthError`] (`auth.rs`): the client's credentials refused on one
//!   request, a 4xx with a spec-shaped `WWW-Authenticate` (written in
//!   `challenge.rs`);
//! - [`RequestError`] and the request-time wiring mistakes
//!   (`Misconfiguration`, a 500) in `request.rs`.
//!
//! The split follows jwt-authorizer: everything that is the operator's
//! mistake surfaces when [`McpAuth`](crate::McpAuth) is built.

mod auth;
mod challenge;
mod config;
mod fetch;
mod request;

pub(crate) use auth::Reason;
pub use auth::{AuthError, AuthErrorKind};
pub(crate) use challenge::{join_scopes, json_error};
pub use config::ConfigError;
pub use fetch::FetchError;
pub(crate) use request::Misconfiguration;
pub use request::RequestError;
