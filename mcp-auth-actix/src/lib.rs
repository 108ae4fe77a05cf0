#![doc = include_str!("../../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms, clippy::await_holding_lock)]
#![deny(unreachable_pub, unnameable_types)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
pub mod auth_server;
mod builder;
// DPoP (issue #12): the verification core; the request path uses it from phase 2 on.
#[allow(dead_code)]
mod crypto;
#[allow(dead_code)]
mod dpop;
pub mod error;
mod flight;
mod http;
mod keyed_hash;
pub mod metadata;
mod metrics;
pub mod providers;
mod resource;
pub mod verify;
mod web;

#[cfg(feature = "rmcp")]
#[cfg_attr(docsrs, doc(cfg(feature = "rmcp")))]
pub mod rmcp;

#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

#[doc(hidden)]
pub mod __private;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use auth::McpAuth;
pub use auth_server::{AuthServerConfig, AuthServerType, AuthorizationServerMetadata};
pub use builder::McpAuthBuilder;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use dpop::RedisReplayStore;
pub use dpop::{DpopMode, DpopOptions, MemoryReplayStore, NonceKey, ReplayError, ReplayStore};
pub use error::{AuthError, ConfigError, FetchError, RequestError};
pub use http::HttpOptions;
pub use metadata::ResourceServerMetadata;
pub use resource::ResourceConfig;
pub use verify::{JwtOptions, VerifiedClaims};
pub use web::extract::{AuthInfo, MaybeAuthInfo};
pub use web::middleware::{BearerAuth, BearerAuthMiddleware};
pub use web::operations::{Operation, OperationScopes};
pub use web::proxy::TrustedProxies;
pub use web::well_known::{routes, well_known_scope};

#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use mcp_auth_macros::protected_resource;
