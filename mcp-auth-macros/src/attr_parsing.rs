//! Key/value parsing for `#[protected_resource(...)]` arguments.
//!
//! This module only checks the *shape* of the arguments (known keys, each at
//! most once, string literals, bracketed lists of string literals). The
//! semantic checks (URL rules, scope-token grammar, ...) live in `expand.rs`.

use proc_macro2::{Span, TokenStream};
use syn::{Expr, ExprArray, Lit, LitStr, Token, meta::ParseNestedMeta, parse::Parser};

/// Every accepted key, in the order used by error messages.
pub(crate) const KEYS: &[&str] = &[
    "resource",
    "scopes",
    "required_scopes",
    "resource_name",
    "resource_documentation",
    "resource_policy_uri",
    "resource_tos_uri",
];

/// A bracketed list of string literals: `["a", "b"]`.
pub(crate) struct StrList {
    pub(crate) items: Vec<LitStr>,
}

/// Parsed (but not yet validated) attribute arguments.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) resource: Option<LitStr>,
    pub(crate) scopes: Option<StrList>,
    pub(crate) required_scopes: Option<StrList>,
    pub(crate) resource_name: Option<LitStr>,
    pub(crate) resource_documentation: Option<LitStr>,
    pub(crate) resource_policy_uri: Option<LitStr>,
    pub(crate) resource_tos_uri: Option<LitStr>,
    /// Keys that were written, even if their value was rejected (so that a
    /// bad value is not also reported as a missing or duplicate key).
    seen: Vec<String>,
}

impl Args {
    /// Whether `key` was written in the attribute.
    pub(crate) fn has_key(&self, key: &str) -> bool {
        self.seen.iter().any(|seen| seen == key)
    }
}

/// Accumulates several errors so that one compilation reports all of them.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, err: syn::Error) {
        match &mut self.0 {
            Some(existing) => existing.combine(err),
            None => self.0 = Some(err),
        }
    }

    pub(crate) fn push_result<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|err| self.push(err)).ok()
    }

    /// Appends `err` (an unrecoverable one) after the errors collected so far.
    pub(crate) fn with(self, err: syn::Error) -> syn::Error {
        match self.0 {
            Some(mut existing) => {
                existing.combine(err);
                existing
            }
            None => err,
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Parses the attribute's token stream. Shape errors are collected in
/// `errors`; an `Err` is only returned for unrecoverable syntax errors.
pub(crate) fn parse_args(tokens: TokenStream, errors: &mut Errors) -> syn::Result<Args> {
    let mut args = Args::default();
    syn::meta::parser(|meta| parse_one(&mut args, &meta, errors)).parse2(tokens)?;
    Ok(args)
}

fn parse_one(args: &mut Args, meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<()> {
    let Some(key) = meta.path.get_ident().map(ToString::to_string) else {
        return unknown_key(meta, errors);
    };
    if !KEYS.contains(&key.as_str()) {
        return unknown_key(meta, errors);
    }
    let value = meta.value()?.parse::<Expr>()?;
    if args.has_key(&key) {
        errors.push(syn::Error::new_spanned(
            &meta.path,
            format!("`{key}` specified more than once"),
        ));
        return Ok(());
    }
    args.seen.push(key.clone());
    match key.as_str() {
        "resource" => set_str(&mut args.resource, &key, &value, errors),
        "scopes" => set_list(&mut args.scopes, &key, &value, errors),
        "required_scopes" => set_list(&mut args.required_scopes, &key, &value, errors),
        "resource_name" => set_str(&mut args.resource_name, &key, &value, errors),
        "resource_documentation" => set_str(&mut args.resource_documentation, &key, &value, errors),
        "resource_policy_uri" => set_str(&mut args.resource_policy_uri, &key, &value, errors),
        "resource_tos_uri" => set_str(&mut args.resource_tos_uri, &key, &value, errors),
        _ => {} // filtered out above
    }
    Ok(())
}

fn unknown_key(meta: &ParseNestedMeta<'_>, errors: &mut Errors) -> syn::Result<()> {
    let path = &meta.path;
    let shown = quote::quote!(#path).to_string().replace(' ', "");
    let expected = KEYS
        .iter()
        .map(|key| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ");
    errors.push(syn::Error::new_spanned(
        path,
        format!("unknown key `{shown}`; expected one of {expected}"),
    ));
    // Skip the value so that the remaining keys are still checked.
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::Group>()?;
    }
    Ok(())
}

fn set_str(slot: &mut Option<LitStr>, key: &str, value: &Expr, errors: &mut Errors) {
    *slot = errors.push_result(expect_str(key, value));
}

fn set_list(slot: &mut Option<StrList>, key: &str, value: &Expr, errors: &mut Errors) {
    let Expr::Array(ExprArray { elems, .. }) = peel(value) else {
        errors.push(syn::Error::new_spanned(
            value,
            format!("`{key}` must be a list of string literals, e.g. `{key} = [\"notes:read\"]`"),
        ));
        return;
    };
    let mut items = Vec::with_capacity(elems.len());
    let mut ok = true;
    for elem in elems {
        match expect_str(key, elem) {
            Ok(lit) => items.push(lit),
            Err(err) => {
                ok = false;
                errors.push(err);
            }
        }
    }
    if ok {
        *slot = Some(StrList { items });
    }
}

/// Strips invisible groups introduced by `macro_rules!` expansion.
fn peel(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(group) => peel(&group.expr),
        expr => expr,
    }
}

fn expect_str(key: &str, expr: &Expr) -> syn::Result<LitStr> {
    match peel(expr) {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Str(lit) if lit.suffix().is_empty() => Ok(lit.clone()),
            _ => Err(syn::Error::new_spanned(
                expr,
                format!("`{key}` values must be string literals"),
            )),
        },
        _ => Err(syn::Error::new_spanned(
            expr,
            format!(
                "`{key}` must be a string literal; constants and macros cannot be checked at \
                 compile time"
            ),
        )),
    }
}

/// The span used for errors about a missing key.
pub(crate) fn missing(key: &str) -> syn::Error {
    syn::Error::new(Span::call_site(), format!("missing required key `{key}`"))
}
