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
//!     tool_scopes = { "add_note" = ["notes:write"] },
//!     resource_name = "Notes",
//! )]
//! #[actix_web::post("/notes/mcp")]
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
//! | `resource` | yes | Resource identifier: absolute `https` URL (`http` only for loopback hosts: `localhost`, `127.0.0.0/8`, `[::1]`), no userinfo, query or fragment (RFC 8707 §2). |
//! | `scopes` | no | Scopes advertised in `scopes_supported`. RFC 6749 scope tokens, no duplicates, not `offline_access`. |
//! | `required_scopes` | no | Scopes every token must carry. **Defaults to all of `scopes`** (fail closed); write `required_scopes = []` to require none. Each must appear in `scopes` when `scopes` is given. |
//! | `tool_scopes` | no | `{ "tool" = ["scope", ...], ... }`: extra scopes a JSON-RPC `tools/call` of that tool needs. |
//! | `prompt_scopes` | no | The same for `prompts/get`, by prompt name. |
//! | `resource_scopes` | no | The same for `resources/read` (and `resources/subscribe`/`unsubscribe`), by URI. A key is an absolute URI or an RFC 6570 template: `{name}` matches one path segment, `{+name}` any text (name: `[A-Za-z0-9_]+`). |
//! | `resource_name` | no | RFC 9728 `resource_name` (non-empty). |
//! | `resource_documentation`, `resource_policy_uri`, `resource_tos_uri` | no | RFC 9728 metadata: absolute `http(s)` URLs. |
//! | `crate` | no | The path of mcp-auth-actix's library as a string, when it is renamed in `Cargo.toml` or re-exported by another crate: `crate = "::my_sdk::mcp_auth"`. Default `::mcp_auth`. |
//!
//! The rules are those of `McpAuthBuilder::build()` (one shared crate,
//! `mcp-auth-rules`), so a declaration the macro accepts is never refused
//! at start-up for its shape.
//!
//! Every value must be a literal so that it can be checked at compile time;
//! mistakes are reported as compile errors pointing at the offending token.
//! In the three maps each name appears once and each scope follows the
//! rules of `scopes`; with `scopes` given, every scope must be listed there;
//! without it, `scopes_supported` is `required_scopes` plus every operation
//! scope. Operation scopes are checked on top of `required_scopes` and a
//! missing one is answered with 403 `insufficient_scope`. With a map and
//! `scopes`, `required_scopes` must be written out: its fail-closed default
//! (all of `scopes`) would require every operation scope on every call.
//!
//! ## Expansion
//!
//! For the handler above the macro emits, using only fully qualified paths:
//!
//! ```ignore
//! #[doc(hidden)]
//! #[allow(non_camel_case_types)]
//! struct __mcp_auth_resource_notes; // same visibility as the handler
//!
//! #[doc(hidden)]
//! #[allow(non_upper_case_globals)]
//! static __MCP_AUTH_DECLARATION_notes: ::mcp_auth::__private::ResourceDeclaration =
//!     ::mcp_auth::__private::ResourceDeclaration {
//!         resource: "https://api.example.com/notes",
//!         scopes_supported: &["notes:read", "notes:write"],
//!         required_scopes: &["notes:read"],
//!         operations: &[::mcp_auth::__private::OperationDeclaration {
//!             kind: ::mcp_auth::__private::OperationKind::Tool,
//!             name: "add_note",
//!             scopes: &["notes:write"],
//!         }],
//!         resource_name: ::core::option::Option::Some("Notes"),
//!         /* ... */
//!         handler: "notes",
//!         location: ::core::concat!(::core::file!(), ":", ::core::line!()),
//!     };
//!
//! impl ::mcp_auth::__private::DeclaredResource for __mcp_auth_resource_notes {
//!     fn declaration() -> &'static ::mcp_auth::__private::ResourceDeclaration {
//!         &__MCP_AUTH_DECLARATION_notes
//!     }
//! }
//!
//! ::mcp_auth::__private::inventory::submit! {
//!     ::mcp_auth::__private::Registration(&__MCP_AUTH_DECLARATION_notes)
//! }
//!
//! #[actix_web::post("/notes/mcp")] // every other attribute is kept
//! async fn notes(
//!     __mcp_auth_guard: ::mcp_auth::__private::Guarded<__mcp_auth_resource_notes, false>,
//!     __mcp_auth_arg1: web::Json<serde_json::Value>,
//! ) -> impl Responder {
//!     async fn __mcp_auth_handler(auth: AuthInfo, body: web::Json<serde_json::Value>) -> impl Responder {
//!         /* original body */
//!     }
//!     __mcp_auth_handler(__mcp_auth_guard.auth(), __mcp_auth_arg1).await
//! }
//! ```
//!
//! The handler's identity is its `static` declaration, not `file:line`
//! (`location` only appears in messages): handlers generated by one
//! `macro_rules!` call stay distinct.
//!
//! ## Parameters
//!
//! * The rewritten handler always takes the guard `Guarded<Marker, _>` as its
//!   **first** parameter, so it runs before any other extractor (which could
//!   consume the body). It verifies the token (validity, audience =
//!   `resource`, `required_scopes`, and the operation scopes of the JSON-RPC
//!   body) and otherwise answers with an RFC 6750 challenge. A handler
//!   without any `AuthInfo` parameter is guarded the same way.
//! * Each `AuthInfo` parameter (any path ending in `AuthInfo`) receives the
//!   verified caller.
//! * `Option<AuthInfo>`: if the handler takes no plain `AuthInfo`, a request
//!   without credentials reaches it with `None` (unless its operation needs
//!   scopes); invalid credentials are still refused. Beside an `AuthInfo`
//!   parameter it is always `Some`.
//! * Other parameters (including patterns such as `web::Json(body): web::Json<T>`)
//!   are extracted after the guard and passed unchanged to an inner
//!   `async fn` that holds the original signature and body.
//!
//! Only free `async fn`s are supported (no `self`).
//!
//! ## Placement
//!
//! Both orders work. Above the route attribute (`#[get]`, `#[post]`, ...),
//! the function is rewritten before the route macro sees it. Below it,
//! actix-web-codegen 4 re-emits the function, attribute included, inside
//! the generated service's `register` method, where it expands the same
//! way; only the marker type and the declaration are then local to that
//! method.
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

use proc_macro::TokenStream;

/// Declares an OAuth 2.0 protected resource (RFC 9728) and requires a valid
/// bearer token for it on this Actix-web handler.
///
/// See the [crate documentation](crate) for the accepted keys, the
/// parameter rules and the expansion. It is usually placed above the route
/// attribute (below works too):
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
