//! `#[protected_resource]`: the attribute is parsed and checked into a
//! [`Declaration`] (`declaration.rs`, with the rules shared with the runtime
//! in `mcp-auth-rules`), then the handler is rewritten and the declaration
//! registered (`emit.rs`).

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::{
    FnArg, GenericArgument, GenericParam, Ident, Item, ItemFn, LitStr, PatType, PathArguments,
    Type, ext::IdentExt,
};

use mcp_auth_rules::{resource, scope, template::UriTemplate};

use crate::attr_parsing::{self, Args, Errors, ScopeMap, StrList};

mod declaration;
mod emit;
#[cfg(test)]
mod tests;

use declaration::parse_attr;
use emit::emit;

/// Entry point: returns the expansion, or the untouched item followed by
/// the compile errors (so IDEs still see the function).
pub(crate) fn protected_resource(attr: TokenStream, item: TokenStream) -> TokenStream {
    match try_expand(attr, item.clone()) {
        Ok(tokens) => tokens,
        Err(err) => {
            let mut tokens = item;
            tokens.extend(err.to_compile_error());
            tokens
        }
    }
}

fn try_expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let decl = errors.push_result(parse_attr(attr)).flatten();
    let func = errors.push_result(check_item(item));
    errors.finish()?;
    match (decl, func) {
        (Some(decl), Some(func)) => Ok(emit(&decl, func)),
        // Unreachable in practice: a `None` always comes with an error.
        _ => Err(syn::Error::new(
            Span::call_site(),
            "invalid `#[protected_resource]` invocation",
        )),
    }
}

/// A validated declaration, ready to be emitted.
struct Declaration {
    resource: LitStr,
    scopes_supported: Vec<LitStr>,
    required_scopes: Vec<LitStr>,
    resource_name: Option<LitStr>,
    resource_documentation: Option<LitStr>,
    resource_policy_uri: Option<LitStr>,
    resource_tos_uri: Option<LitStr>,
    operations: Vec<Operation>,
    /// The runtime crate: `::mcp_auth`, or the `crate = "path"` argument.
    krate: TokenStream,
}

/// Scopes one MCP operation needs (`tool_scopes`, `prompt_scopes`,
/// `resource_scopes` entry).
struct Operation {
    kind: OpKind,
    name: LitStr,
    scopes: Vec<LitStr>,
}

#[derive(Clone, Copy)]
enum OpKind {
    Tool,
    Prompt,
    Resource,
}

impl OpKind {
    const ALL: [(OpKind, &'static str); 3] = [
        (OpKind::Tool, "tool_scopes"),
        (OpKind::Prompt, "prompt_scopes"),
        (OpKind::Resource, "resource_scopes"),
    ];

    /// What an entry names, for messages: "tool `add_note`".
    fn noun(self) -> &'static str {
        match self {
            OpKind::Tool => "tool",
            OpKind::Prompt => "prompt",
            OpKind::Resource => "resource",
        }
    }

    fn variant(self) -> Ident {
        let name = match self {
            OpKind::Tool => "Tool",
            OpKind::Prompt => "Prompt",
            OpKind::Resource => "Resource",
        };
        Ident::new(name, Span::call_site())
    }
}

/// Checks that the item is an `async fn` without a receiver.
fn check_item(item: TokenStream) -> syn::Result<ItemFn> {
    let item: Item = syn::parse2(item)?;
    let func = match item {
        Item::Fn(func) => func,
        Item::Struct(syn::ItemStruct { ident, .. }) => {
            return Err(syn::Error::new(ident.span(), NOT_A_FN));
        }
        Item::Impl(syn::ItemImpl { impl_token, .. }) => {
            return Err(syn::Error::new(impl_token.span, NOT_A_FN));
        }
        other => {
            return Err(syn::Error::new_spanned(other, NOT_A_FN));
        }
    };
    let mut errors = Errors::default();
    if func.sig.asyncness.is_none() {
        errors.push(syn::Error::new(
            func.sig.fn_token.span,
            "`#[protected_resource]` handlers must be `async fn`",
        ));
    }
    if let Some(receiver) = func.sig.receiver() {
        errors.push(syn::Error::new_spanned(
            receiver,
            "`#[protected_resource]` cannot be applied to methods: request handlers must be free \
             functions without a `self` parameter",
        ));
    }
    errors.finish()?;
    Ok(func)
}

const NOT_A_FN: &str =
    "`#[protected_resource]` can only be applied to an `async fn` request handler";
