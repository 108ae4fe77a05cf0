//! Key/value parsing for `#[protected_resource(...)]` arguments.
//!
//! This module only checks the *shape* of the arguments (known keys, each at
//! most once, string literals, bracketed lists of string literals, brace maps
//! of string literals to such lists). The semantic checks (URL rules,
//! scope-token grammar, ...) live in `expand.rs`.

use proc_macro2::{Span, TokenStream};
use syn::{
    Expr, ExprArray, ExprAssign, Lit, LitStr, Token,
    meta::ParseNestedMeta,
    parse::{ParseStream, Parser},
};

/// Every accepted key, in the order used by error messages.
pub(crate) const KEYS: &[&str] = &[
    "resource",
    "scopes",
    "required_scopes",
    "resource_name",
    "resource_documentation",
    "resource_policy_uri",
    "resource_tos_uri",
    "tool_scopes",
    "prompt_scopes",
    "resource_scopes",
    "crate",
];

/// The keys whose value is a brace map `{ "name" = ["scope", ...], ... }`.
const MAP_KEYS: &[&str] = &["tool_scopes", "prompt_scopes", "resource_scopes"];

/// A bracketed list of string literals: `["a", "b"]`.
pub(crate) struct StrList {
    pub(crate) items: Vec<LitStr>,
}

/// One `"name" = ["scope", ...]` entry of a scope map.
pub(crate) struct MapEntry {
    pub(crate) name: LitStr,
    pub(crate) scopes: StrList,
}

/// A brace map `{ "name" = ["scope", ...], ... }` (`tool_scopes`, ...).
/// Entries whose shape was rejected are left out (and reported).
pub(crate) struct ScopeMap {
    pub(crate) entries: Vec<MapEntry>,
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
    pub(crate) tool_scopes: Option<ScopeMap>,
    pub(crate) prompt_scopes: Option<ScopeMap>,
    pub(crate) resource_scopes: Option<ScopeMap>,
    /// `crate = "path"`: where mcp-auth-actix is, when renamed or re-exported.
    pub(crate) krate: Option<syn::Path>,
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

    pub(crate) fn extend(&mut self, other: Errors) {
        if let Some(err) = other.0 {
            self.push(err);
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
    let input = meta.value()?;
    // A scope map is not an expression: parse it (and collect its errors)
    // before knowing whether the key is a duplicate.
    let mut map_errors = Errors::default();
    let value = if MAP_KEYS.contains(&key.as_str()) && input.peek(syn::token::Brace) {
        Value::Map(parse_map(&key, input, &mut map_errors)?)
    } else {
        Value::Expr(input.parse::<Expr>()?)
    };
    if args.has_key(&key) {
        // The value of a repeated key is not checked any further.
        errors.push(syn::Error::new_spanned(
            &meta.path,
            format!("`{key}` is specified more than once"),
        ));
        return Ok(());
    }
    args.seen.push(key.clone());
    let value = match value {
        Value::Map(map) => {
            errors.extend(map_errors);
            let slot = match key.as_str() {
                "tool_scopes" => &mut args.tool_scopes,
                "prompt_scopes" => &mut args.prompt_scopes,
                _ => &mut args.resource_scopes,
            };
            *slot = Some(map);
            return Ok(());
        }
        Value::Expr(value) => value,
    };
    match key.as_str() {
        "resource" => set_str(&mut args.resource, &key, &value, errors),
        "scopes" => set_list(&mut args.scopes, &key, &value, errors),
        "required_scopes" => set_list(&mut args.required_scopes, &key, &value, errors),
        "resource_name" => set_str(&mut args.resource_name, &key, &value, errors),
        "resource_documentation" => set_str(&mut args.resource_documentation, &key, &value, errors),
        "resource_policy_uri" => set_str(&mut args.resource_policy_uri, &key, &value, errors),
        "resource_tos_uri" => set_str(&mut args.resource_tos_uri, &key, &value, errors),
        "crate" => {
            args.krate = errors.push_result(expect_str(&key, &value).and_then(|lit| {
                lit.parse::<syn::Path>().map_err(|_| {
                    syn::Error::new(
                        lit.span(),
                        "`crate` must be the path of mcp-auth-actix as a string, e.g. \
                         `crate = \"::my_reexport::mcp_auth\"`",
                    )
                })
            }));
        }
        map_key => errors.push(syn::Error::new_spanned(
            &value,
            format!(
                "`{map_key}` must be a map from {} to scopes, e.g. `{map_key} = {}`",
                map_subject(map_key),
                map_example(map_key)
            ),
        )),
    }
    Ok(())
}

enum Value {
    Expr(Expr),
    Map(ScopeMap),
}

/// What the keys of the map `key` name, for messages.
pub(crate) fn map_subject(key: &str) -> &'static str {
    match key {
        "tool_scopes" => "tool names",
        "prompt_scopes" => "prompt names",
        _ => "resource URIs or URI templates",
    }
}

fn map_example(key: &str) -> &'static str {
    match key {
        "tool_scopes" => r#"{ "add_note" = ["mcp:write"] }"#,
        "prompt_scopes" => r#"{ "summarize" = ["notes:read"] }"#,
        _ => r#"{ "notes://{id}" = ["notes:read"] }"#,
    }
}

/// Parses `{ "name" = ["scope", ...], ... }`. Malformed entries are reported
/// in `errors` and skipped; only a missing brace group is a hard error.
fn parse_map(key: &str, input: ParseStream<'_>, errors: &mut Errors) -> syn::Result<ScopeMap> {
    let content;
    syn::braced!(content in input);
    let mut entries = Vec::new();
    let expected = |span: Span| {
        syn::Error::new(
            span,
            format!(
                "expected `\"name\" = [\"scope\", ...]` entries separated by commas, e.g. \
                 `{key} = {}`",
                map_example(key)
            ),
        )
    };
    while !content.is_empty() {
        let entry = match content.parse::<Expr>() {
            Ok(entry) => entry,
            Err(err) => {
                errors.push(expected(err.span()));
                skip_rest(&content)?;
                break;
            }
        };
        let is_entry = match peel(&entry) {
            Expr::Assign(ExprAssign { left, right, .. }) => {
                let name = match expect_str(key, left) {
                    Ok(name) => Some(name),
                    Err(_) => {
                        errors.push(syn::Error::new_spanned(
                            left,
                            format!("{} in `{key}` must be string literals", map_subject(key)),
                        ));
                        None
                    }
                };
                let what = match &name {
                    Some(name) => format!("scopes of `{}` in `{key}`", name.value().escape_debug()),
                    None => format!("scopes in `{key}`"),
                };
                let scopes = parse_list(&what, key, right, errors);
                if let (Some(name), Some(scopes)) = (name, scopes) {
                    entries.push(MapEntry { name, scopes });
                }
                true
            }
            other => {
                errors.push(expected(syn::spanned::Spanned::span(other)));
                false
            }
        };
        if content.is_empty() {
            break;
        }
        if let Err(err) = content.parse::<Token![,]>() {
            if is_entry {
                // Otherwise already reported for this entry.
                errors.push(expected(err.span()));
            }
            skip_rest(&content)?;
            break;
        }
    }
    Ok(ScopeMap { entries })
}

/// Consumes what is left of a brace group after an error was reported.
fn skip_rest(content: ParseStream<'_>) -> syn::Result<()> {
    content.step(|cursor| {
        let mut rest = *cursor;
        while let Some((_, next)) = rest.token_tree() {
            rest = next;
        }
        Ok(((), rest))
    })
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
        let value = meta.value()?;
        if value.peek(syn::token::Brace) {
            // e.g. a misspelt scope map, which is not an expression.
            value.parse::<proc_macro2::Group>()?;
        } else {
            value.parse::<Expr>()?;
        }
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::Group>()?;
    }
    Ok(())
}

fn set_str(slot: &mut Option<LitStr>, key: &str, value: &Expr, errors: &mut Errors) {
    *slot = errors.push_result(expect_str(key, value));
}

fn set_list(slot: &mut Option<StrList>, key: &str, value: &Expr, errors: &mut Errors) {
    *slot = parse_list(&format!("`{key}`"), key, value, errors);
}

/// A list of string literals; `what` names it in messages (e.g. "`scopes`").
fn parse_list(what: &str, key: &str, value: &Expr, errors: &mut Errors) -> Option<StrList> {
    let Expr::Array(ExprArray { elems, .. }) = peel(value) else {
        let example = if MAP_KEYS.contains(&key) {
            format!("`{key} = {}`", map_example(key))
        } else {
            format!("`{key} = [\"notes:read\"]`")
        };
        errors.push(syn::Error::new_spanned(
            value,
            format!("{what} must be a list of string literals, e.g. {example}"),
        ));
        return None;
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
    ok.then_some(StrList { items })
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
