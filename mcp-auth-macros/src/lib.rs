//! Procedural macros for [`mcp-auth-actix`](https://docs.rs/mcp-auth-actix).
//!
//! Use them through the runtime crate (`mcp_auth::protected_resource`, enabled
//! by its default `macros` feature); this crate is an implementation detail
//! and its expansions only refer to `::mcp_auth::__private`.
//!
//! # `#[protected_resource]`
//!
//! Declares, at compile time, an OAuth 2.0 protected resource
//! ([RFC 9728](https://www.rfc-editor.org/rfc/rfc9728)) and makes an Actix-web
//! handler verify the caller's bearer token for that resource:
//!
//! ```
//! use actix_web::{Responder, web};
//! use mcp_auth::{AuthInfo, protected_resource};
//!
//! #[protected_resource(
//!     resource = "https://api.example.com/notes",
//!     scopes = ["notes:read", "notes:write"],
//!     required_scopes = ["notes:read"],
//!     resource_name = "Notes",
//!     resource_documentation = "https://docs.example.com/notes",
//! )]
//! #[actix_web::post("/notes/mcp")] // route attribute goes *below*
//! async fn notes(auth: AuthInfo, body: web::Json<serde_json::Value>) -> impl Responder {
//!     let _caller = auth; // verified for `resource`, carries `notes:read`
//!     web::Json(body.into_inner())
//! }
//! # let _ = actix_web::App::new().service(notes);
//! ```
//!
//! ## Keys
//!
//! | key | required | meaning |
//! |-----|----------|---------|
//! | `resource` | yes | Resource identifier: absolute `https` URL (`http` only for `localhost`, `127.0.0.1`, `[::1]`), no userinfo, query or fragment (RFC 8707 §2). |
//! | `scopes` | no | Scopes advertised in `scopes_supported`. RFC 6749 scope tokens, no duplicates, not `offline_access`. |
//! | `required_scopes` | no | Scopes every token must carry. **Defaults to all of `scopes`** (fail closed); write `required_scopes = []` to require none. Each must appear in `scopes` when `scopes` is given; when `scopes` is omitted, the required scopes are also the advertised ones. |
//! | `resource_name` | no | RFC 9728 `resource_name` (non-empty). |
//! | `resource_documentation`, `resource_policy_uri`, `resource_tos_uri` | no | RFC 9728 metadata: absolute `http(s)` URLs. |
//!
//! Every value must be a literal so that it can be checked at compile time;
//! mistakes are reported as compile errors pointing at the offending literal.
//!
//! ## Expansion
//!
//! For the handler above the macro emits, using only fully qualified paths:
//!
//! ```ignore
//! #[doc(hidden)]
//! #[allow(non_camel_case_types)]
//! struct __mcp_auth_resource_notes;
//!
//! impl ::mcp_auth::__private::DeclaredResource for __mcp_auth_resource_notes {
//!     const DECLARATION: &'static ::mcp_auth::__private::ResourceDeclaration =
//!         &::mcp_auth::__private::ResourceDeclaration {
//!             resource: "https://api.example.com/notes",
//!             scopes_supported: &["notes:read", "notes:write"],
//!             required_scopes: &["notes:read"],
//!             resource_name: Some("Notes"),
//!             /* ... */
//!             handler: "notes",
//!             location: concat!(file!(), ":", line!()), // the handler's line
//!         };
//! }
//!
//! ::mcp_auth::__private::inventory::submit! {
//!     ::mcp_auth::__private::Registration(
//!         <__mcp_auth_resource_notes as ::mcp_auth::__private::DeclaredResource>::DECLARATION
//!     )
//! }
//!
//! #[actix_web::post("/notes/mcp")] // every other attribute is kept
//! async fn notes(
//!     arg0: ::mcp_auth::__private::Verified<__mcp_auth_resource_notes>,
//!     arg1: web::Json<serde_json::Value>,
//! ) -> impl Responder {
//!     async fn inner(auth: AuthInfo, body: web::Json<serde_json::Value>) -> impl Responder {
//!         /* original body */
//!     }
//!     inner(::mcp_auth::__private::Verified::into_inner(arg0), arg1).await
//! }
//! ```
//!
//! * Every parameter whose type is a path ending in `AuthInfo` is extracted as
//!   `Verified<Marker>`, which authenticates the request against the
//!   declaration (token validity, audience = `resource`, `required_scopes`)
//!   and rejects it with an RFC 6750 challenge otherwise.
//! * `Option<AuthInfo>` becomes `Option<Verified<Marker>>`: the handler also
//!   runs for anonymous or invalid requests and receives `None`.
//! * A handler without any `AuthInfo` parameter gets a leading guard
//!   parameter `_: Verified<Marker>`, so the route is protected anyway.
//! * Other parameters (including patterns such as `web::Json(body): web::Json<T>`)
//!   are passed through unchanged to an inner `async fn` that holds the
//!   original body and signature.
//!
//! The attribute must be placed **above** the actix route attribute, so that
//! it sees (and re-emits) the plain function before `#[get]`/`#[post]` turn
//! it into a service type. It only supports free `async fn`s (no `self`).
//!
//! ## Link-time registration
//!
//! Declarations are collected with [`inventory`](https://docs.rs/inventory):
//! each `submit!` places a static constructor in the binary that, at program
//! start-up, links the handler's `ResourceDeclaration` into a global registry.
//! No central list has to be maintained: every annotated handler linked into
//! the binary is found. `mcp_auth::routes` serves the RFC 9728 metadata
//! document(s) (`/.well-known/oauth-protected-resource...`) built from these
//! declarations, and duplicate or conflicting declarations for one resource
//! identifier (e.g. two handlers advertising different `scopes`) are reported
//! when `McpAuth` is built, with the `file:line` location of each handler.
//!
//! On any error the macro emits the original function unchanged together with
//! the compile errors, so that IDEs keep resolving the handler.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod attr_parsing;
mod expand;
mod validate;

use proc_macro::TokenStream;

/// Declares an OAuth 2.0 protected resource (RFC 9728) and requires a valid
/// bearer token for it on this Actix-web handler.
///
/// See the [crate documentation](crate) for the accepted keys and the
/// expansion. Place it above the route attribute:
///
/// ```
/// use mcp_auth::protected_resource;
///
/// #[protected_resource(resource = "https://api.example.com/mcp", scopes = ["mcp"])]
/// #[actix_web::post("/mcp")]
/// async fn mcp(auth: mcp_auth::AuthInfo) -> impl actix_web::Responder {
///     let _caller = auth;
///     "ok"
/// }
/// # let _ = actix_web::App::new().service(mcp);
/// ```
#[proc_macro_attribute]
pub fn protected_resource(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::protected_resource(attr.into(), item.into()).into()
}
