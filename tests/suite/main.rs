//! The integration suite, as one test binary: its tests run in parallel with
//! each other (most of them wait on real sockets and timers) and it links
//! once. Each module is one concern; helpers are in `tests/common/`.
//!
//! The `#[protected_resource]` tests (`tests/macro_*.rs`) and the README's
//! example stay binaries of their own: `McpAuth::builder()` collects every
//! declaration linked into the binary.

#[path = "../common/mod.rs"]
mod common;

mod challenges;
mod composition;
mod discovery;
mod dpop;
mod introspection;
mod introspection_endpoints;
mod jwt_claims;
mod jwt_keys;
mod jwt_signatures;
mod metadata;
mod operation_scopes;
mod providers;
mod proxy;
mod resilience;
mod sessions;
mod test_issuer;
mod verification;
