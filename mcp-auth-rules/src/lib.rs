//! The configuration rules of mcp-auth-actix, in one place.
//!
//! `#[protected_resource]` (mcp-auth-macros) applies them at compile time and
//! `McpAuthBuilder::build()` (mcp-auth-actix) at start-up, so the two cannot
//! disagree about what a valid resource identifier, scope or resource URI
//! template is. Each rule returns the message a user reads: the macro spans
//! it on the offending literal, the runtime puts it in a `ConfigError`.
//!
//! Not a public API: its versions move in lockstep with the two crates.

#![forbid(unsafe_code)]
#![warn(missing_docs, rust_2018_idioms)]
#![deny(unreachable_pub)]

pub mod resource;
pub mod scope;
pub mod template;
