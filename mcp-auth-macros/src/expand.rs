//! Validation of the arguments and expansion of `#[protected_resource]`.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::{
    FnArg, GenericArgument, GenericParam, Ident, Item, ItemFn, LitStr, PatType, PathArguments,
    Type, ext::IdentExt, punctuated::Punctuated, spanned::Spanned,
};

use crate::{
    attr_parsing::{self, Args, Errors, StrList},
    validate,
};

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
}

/// Parses and validates the attribute arguments. `Ok(None)` never escapes:
/// errors are accumulated and returned together.
fn parse_attr(attr: TokenStream) -> syn::Result<Option<Declaration>> {
    let mut errors = Errors::default();
    let args = match attr_parsing::parse_args(attr, &mut errors) {
        Ok(args) => args,
        Err(syntax) => return Err(errors.with(syntax)),
    };
    let resource_written = args.has_key("resource");
    let Args {
        resource,
        scopes,
        required_scopes,
        resource_name,
        resource_documentation,
        resource_policy_uri,
        resource_tos_uri,
        ..
    } = args;

    match &resource {
        Some(lit) => check(&mut errors, lit, validate::resource_identifier),
        None if !resource_written => errors.push(attr_parsing::missing("resource")),
        None => {} // present but invalid: already reported
    }
    if let Some(scopes) = &scopes {
        check_scope_list(&mut errors, "scopes", scopes);
        for lit in &scopes.items {
            if lit.value() == "offline_access" {
                errors.push(offline_access(lit, "scopes"));
            }
        }
    }
    if let Some(required) = &required_scopes {
        check_scope_list(&mut errors, "required_scopes", required);
        match &scopes {
            Some(scopes) => {
                let advertised: HashSet<String> = scopes.items.iter().map(LitStr::value).collect();
                for lit in &required.items {
                    if !advertised.contains(&lit.value()) {
                        errors.push(syn::Error::new(
                            lit.span(),
                            format!(
                                "required scope `{}` is not listed in `scopes`; every required \
                                 scope must be advertised in `scopes_supported`",
                                lit.value().escape_debug()
                            ),
                        ));
                    }
                }
            }
            // Without `scopes`, the required scopes are what gets advertised.
            None => {
                for lit in &required.items {
                    if lit.value() == "offline_access" {
                        errors.push(offline_access(lit, "required_scopes"));
                    }
                }
            }
        }
    }
    if let Some(lit) = &resource_name {
        check(&mut errors, lit, validate::resource_name);
    }
    for (key, lit) in [
        ("resource_documentation", &resource_documentation),
        ("resource_policy_uri", &resource_policy_uri),
        ("resource_tos_uri", &resource_tos_uri),
    ] {
        if let Some(lit) = lit {
            check(&mut errors, lit, |value| validate::http_url(key, value));
        }
    }
    errors.finish()?;

    let Some(resource) = resource else {
        return Ok(None);
    };
    let scopes = scopes.map(|list| list.items);
    let required = required_scopes.map(|list| list.items);
    // Fail closed: without `required_scopes`, every advertised scope is required.
    let (scopes_supported, required_scopes) = match (scopes, required) {
        (Some(scopes), Some(required)) => (scopes, required),
        (Some(scopes), None) => (scopes.clone(), scopes),
        (None, Some(required)) => (required.clone(), required),
        (None, None) => (Vec::new(), Vec::new()),
    };
    Ok(Some(Declaration {
        resource,
        scopes_supported,
        required_scopes,
        resource_name,
        resource_documentation,
        resource_policy_uri,
        resource_tos_uri,
    }))
}

fn check(errors: &mut Errors, lit: &LitStr, validator: impl FnOnce(&str) -> Result<(), String>) {
    if let Err(message) = validator(&lit.value()) {
        errors.push(syn::Error::new(lit.span(), message));
    }
}

fn check_scope_list(errors: &mut Errors, key: &str, list: &StrList) {
    let mut seen = HashSet::new();
    for lit in &list.items {
        let value = lit.value();
        check(errors, lit, validate::scope_token);
        if !seen.insert(value) {
            errors.push(syn::Error::new(
                lit.span(),
                format!(
                    "duplicate scope `{}` in `{key}`",
                    lit.value().escape_debug()
                ),
            ));
        }
    }
}

fn offline_access(lit: &LitStr, key: &str) -> syn::Error {
    syn::Error::new(
        lit.span(),
        format!(
            "`offline_access` must not be listed in `{key}`: the MCP authorization spec \
             (2026-07-28) says protected resources SHOULD NOT advertise it in \
             `scopes_supported`; refresh tokens are negotiated with the authorization server"
        ),
    )
}

/// Checks that the item is an `async fn` without a receiver.
fn check_item(item: TokenStream) -> syn::Result<ItemFn> {
    let item: Item = syn::parse2(item)?;
    let func = match item {
        Item::Fn(func) => func,
        Item::Struct(syn::ItemStruct { ident, .. }) => {
            return Err(below_route(ident.span()));
        }
        Item::Impl(syn::ItemImpl { impl_token, .. }) => {
            return Err(below_route(impl_token.span));
        }
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "`#[protected_resource]` can only be applied to an `async fn` request handler",
            ));
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

fn below_route(span: Span) -> syn::Error {
    syn::Error::new(
        span,
        "`#[protected_resource]` can only be applied to an `async fn` request handler; \
         it must be placed above the actix route attribute (`#[get]`, `#[post]`, ...), \
         which turns the function into a struct",
    )
}

/// How an original parameter is obtained from the rewritten signature.
enum ParamKind {
    /// `AuthInfo`: extracted as `Verified<Marker>`, converted with `into_inner`.
    Auth,
    /// `Option<AuthInfo>`: extracted as `OptionalVerified<Marker>` (`None`
    /// only without credentials; an invalid token is still rejected).
    OptionalAuth,
    /// Any other extractor, passed through unchanged.
    Other,
}

fn emit(decl: &Declaration, func: ItemFn) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = func;
    let name = sig.ident.unraw();
    let marker = format_ident!("__mcp_auth_resource_{}", name);
    let private = quote!(::mcp_auth::__private);

    // --- declaration -------------------------------------------------------
    let Declaration {
        resource,
        scopes_supported,
        required_scopes,
        resource_name,
        resource_documentation,
        resource_policy_uri,
        resource_tos_uri,
    } = decl;
    let opt = |lit: &Option<LitStr>| match lit {
        Some(lit) => quote!(::core::option::Option::Some(#lit)),
        None => quote!(::core::option::Option::None),
    };
    let resource_name = opt(resource_name);
    let resource_documentation = opt(resource_documentation);
    let resource_policy_uri = opt(resource_policy_uri);
    let resource_tos_uri = opt(resource_tos_uri);
    let handler = LitStr::new(&name.to_string(), sig.ident.span());
    let location = quote_spanned! {sig.ident.span()=>
        ::core::concat!(::core::file!(), ":", ::core::line!())
    };
    let marker_doc = format!("`#[protected_resource]` marker for the `{name}` handler.");

    // --- signature rewrite -----------------------------------------------
    let mut outer_inputs: Punctuated<TokenStream, syn::Token![,]> = Punctuated::new();
    let mut call_args = Vec::new();
    let mut has_auth = false;
    for (index, input) in sig.inputs.iter().enumerate() {
        let FnArg::Typed(PatType { ty, .. }) = input else {
            continue; // receivers were rejected by `check_item`
        };
        let arg = format_ident!("__mcp_auth_arg{}", index, span = Span::mixed_site());
        match param_kind(ty) {
            ParamKind::Auth => {
                has_auth = true;
                let verified = quote_spanned!(ty.span()=> #private::Verified<#marker>);
                outer_inputs.push(quote!(#arg: #verified));
                call_args.push(quote!(#private::Verified::into_inner(#arg)));
            }
            ParamKind::OptionalAuth => {
                has_auth = true;
                let verified = quote_spanned!(ty.span()=> #private::OptionalVerified<#marker>);
                outer_inputs.push(quote!(#arg: #verified));
                call_args.push(quote!(#private::OptionalVerified::into_inner(#arg)));
            }
            ParamKind::Other => {
                outer_inputs.push(quote!(#arg: #ty));
                call_args.push(quote!(#arg));
            }
        }
    }
    if !has_auth {
        // No `AuthInfo` parameter: the route must still be protected.
        let guard = quote!(_: #private::Verified<#marker>);
        outer_inputs.insert(0, guard);
    }

    // --- inner function holding the original body -------------------------
    let inner = Ident::new("__mcp_auth_handler", Span::mixed_site());
    let inner_inputs = &sig.inputs;
    let output = &sig.output;
    let generics = &sig.generics;
    let where_clause = &sig.generics.where_clause;
    let turbofish = turbofish(&sig);
    let inner_fn = quote! {
        async fn #inner #generics (#inner_inputs) #output #where_clause #block
    };

    let outer_sig = {
        let syn::Signature {
            constness,
            asyncness,
            unsafety,
            abi,
            fn_token,
            ident,
            generics,
            output,
            ..
        } = &sig;
        quote! {
            #constness #asyncness #unsafety #abi #fn_token #ident #generics (#outer_inputs)
                #output #where_clause
        }
    };

    quote! {
        #[doc = #marker_doc]
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #vis struct #marker;

        impl #private::DeclaredResource for #marker {
            const DECLARATION: &'static #private::ResourceDeclaration =
                &#private::ResourceDeclaration {
                    resource: #resource,
                    scopes_supported: &[#(#scopes_supported),*],
                    required_scopes: &[#(#required_scopes),*],
                    resource_name: #resource_name,
                    resource_documentation: #resource_documentation,
                    resource_policy_uri: #resource_policy_uri,
                    resource_tos_uri: #resource_tos_uri,
                    handler: #handler,
                    location: #location,
                };
        }

        #private::inventory::submit! {
            #private::Registration(
                <#marker as #private::DeclaredResource>::DECLARATION
            )
        }

        #(#attrs)*
        #vis #outer_sig {
            #inner_fn
            #inner #turbofish (#(#call_args),*).await
        }
    }
}

/// `::<T, N>` for the handler's type and const parameters, unless an
/// `impl Trait` argument makes explicit generic arguments illegal.
fn turbofish(sig: &syn::Signature) -> TokenStream {
    let params: Vec<TokenStream> = sig
        .generics
        .params
        .iter()
        .filter_map(|param| match param {
            GenericParam::Type(ty) => {
                let ident = &ty.ident;
                Some(quote!(#ident))
            }
            GenericParam::Const(c) => {
                let ident = &c.ident;
                Some(quote!(#ident))
            }
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    let inputs = &sig.inputs;
    if params.is_empty() || contains_impl(quote!(#inputs)) {
        return TokenStream::new();
    }
    quote!(::<#(#params),*>)
}

fn contains_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == "impl",
        TokenTree::Group(group) => contains_impl(group.stream()),
        _ => false,
    })
}

fn param_kind(ty: &Type) -> ParamKind {
    if is_auth_info(ty) {
        return ParamKind::Auth;
    }
    if let Some(inner) = option_inner(ty)
        && is_auth_info(inner)
    {
        return ParamKind::OptionalAuth;
    }
    ParamKind::Other
}

/// Strips parentheses and invisible groups (from `macro_rules!` expansion).
fn peel(ty: &Type) -> &Type {
    match ty {
        Type::Group(group) => peel(&group.elem),
        Type::Paren(paren) => peel(&paren.elem),
        ty => ty,
    }
}

/// Last path segment of a plain path type (`a::b::C<..>` → `C<..>`).
fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match peel(ty) {
        Type::Path(path) if path.qself.is_none() => path.path.segments.last(),
        _ => None,
    }
}

/// Any path ending in the identifier `AuthInfo`, e.g. `mcp_auth::AuthInfo`.
fn is_auth_info(ty: &Type) -> bool {
    last_segment(ty)
        .is_some_and(|seg| seg.ident == "AuthInfo" && matches!(seg.arguments, PathArguments::None))
}

/// `T` for `Option<T>` (any path ending in `Option`).
fn option_inner(ty: &Type) -> Option<&Type> {
    let seg = last_segment(ty)?;
    if seg.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [GenericArgument::Type(inner)] => Some(inner),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(attr: TokenStream, item: TokenStream) -> String {
        protected_resource(attr, item).to_string()
    }

    #[test]
    fn param_kinds() {
        let cases: &[(&str, &str)] = &[
            ("AuthInfo", "auth"),
            ("mcp_auth::AuthInfo", "auth"),
            ("::mcp_auth::AuthInfo", "auth"),
            ("(AuthInfo)", "auth"),
            ("Option<AuthInfo>", "opt"),
            ("std::option::Option<mcp_auth::AuthInfo>", "opt"),
            ("AuthInfoExt", "other"),
            ("web::Json<AuthInfo>", "other"),
            ("Option<String>", "other"),
            ("Vec<AuthInfo>", "other"),
            ("<T as X>::AuthInfo", "other"),
        ];
        for &(ty, want) in cases {
            let ty: Type = syn::parse_str(ty).unwrap();
            let got = match param_kind(&ty) {
                ParamKind::Auth => "auth",
                ParamKind::OptionalAuth => "opt",
                ParamKind::Other => "other",
            };
            assert_eq!(got, want, "{}", quote!(#ty));
        }
    }

    #[test]
    fn default_required_scopes_fail_closed() {
        let out = expand(
            quote!(
                resource = "https://api.example.com/mcp",
                scopes = ["a", "b"]
            ),
            quote!(
                async fn h(auth: AuthInfo) {}
            ),
        );
        assert!(out.contains(r#"required_scopes : & ["a" , "b"]"#), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn explicit_empty_required_scopes() {
        let out = expand(
            quote!(
                resource = "https://api.example.com/mcp",
                scopes = ["a"],
                required_scopes = []
            ),
            quote!(
                async fn h(auth: AuthInfo) {}
            ),
        );
        assert!(out.contains("required_scopes : & []"), "{out}");
    }

    #[test]
    fn errors_keep_the_item() {
        let out = expand(
            quote!(),
            quote!(
                async fn h(auth: AuthInfo) {}
            ),
        );
        assert!(out.starts_with("async fn h (auth : AuthInfo) { }"), "{out}");
        assert!(out.contains("missing required key `resource`"), "{out}");
    }

    #[test]
    fn errors_are_combined() {
        let out = expand(
            quote!(resource = "http://example.com", scopes = ["a b"], foo = 1),
            quote!(
                fn h() {}
            ),
        );
        for needle in [
            "`http` is only allowed",
            "contains a space",
            "unknown key `foo`",
            "must be `async fn`",
        ] {
            assert!(out.contains(needle), "{needle}: {out}");
        }
    }

    #[test]
    fn guard_parameter_added() {
        let out = expand(
            quote!(resource = "https://api.example.com/mcp"),
            quote!(
                async fn h() -> &'static str {
                    "hi"
                }
            ),
        );
        assert!(
            out.contains(
                "async fn h (_ : :: mcp_auth :: __private :: Verified < __mcp_auth_resource_h >)"
            ),
            "{out}"
        );
    }
}
