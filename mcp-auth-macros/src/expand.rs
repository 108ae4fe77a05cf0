//! Validation of the arguments and expansion of `#[protected_resource]`.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::{
    FnArg, GenericArgument, GenericParam, Ident, Item, ItemFn, LitStr, PatType, PathArguments,
    Type, ext::IdentExt,
};

use mcp_auth_rules::{resource, scope, template::UriTemplate};

use crate::attr_parsing::{self, Args, Errors, ScopeMap, StrList};

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
        tool_scopes,
        prompt_scopes,
        resource_scopes,
        krate,
        ..
    } = args;

    match &resource {
        Some(lit) => check(&mut errors, lit, |value| {
            let url = resource::identifier(value)?;
            resource::secure_scheme("resource", &url, false)
        }),
        None if !resource_written => errors.push(attr_parsing::missing("resource")),
        None => {} // present but invalid: already reported
    }
    if let Some(scopes) = &scopes {
        check_scope_list(&mut errors, "scopes", scopes);
    }
    if let Some(required) = &required_scopes {
        check_scope_list(&mut errors, "required_scopes", required);
        // Without `scopes`, the required scopes are what gets advertised.
        if let Some(scopes) = &scopes {
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
    }
    if let Some(lit) = &resource_name {
        check(&mut errors, lit, resource::name);
    }
    for (key, lit) in [
        ("resource_documentation", &resource_documentation),
        ("resource_policy_uri", &resource_policy_uri),
        ("resource_tos_uri", &resource_tos_uri),
    ] {
        if let Some(lit) = lit {
            check(&mut errors, lit, |value| {
                resource::http_url(key, value).map(drop)
            });
        }
    }
    let mut operations = Vec::new();
    if let (Some(scopes), None, true) = (
        &scopes,
        &required_scopes,
        tool_scopes.is_some() || prompt_scopes.is_some() || resource_scopes.is_some(),
    ) && let Some(first) = scopes.items.first()
    {
        // The fail-closed default (every scope required on every call) would
        // make the per-operation maps meaningless: make the caller choose.
        errors.push(syn::Error::new(
            first.span(),
            "with `tool_scopes`, `prompt_scopes` or `resource_scopes`, write `required_scopes` \
             explicitly (e.g. `required_scopes = [\"mcp:read\"]`): by default every scope in \
             `scopes` is required on every call, which would make the maps meaningless",
        ));
    }
    for ((kind, key), map) in
        OpKind::ALL
            .into_iter()
            .zip([tool_scopes, prompt_scopes, resource_scopes])
    {
        if let Some(map) = map {
            check_scope_map(&mut errors, kind, key, &map, scopes.as_ref());
            operations.extend(map.entries.into_iter().map(|entry| Operation {
                kind,
                name: entry.name,
                scopes: entry.scopes.items,
            }));
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
        (None, required) => {
            // Without `scopes`, the required and the operation scopes are
            // what gets advertised (first appearance, no duplicates).
            let required = required.unwrap_or_default();
            let mut seen = HashSet::new();
            let advertised = required
                .iter()
                .chain(operations.iter().flat_map(|op| &op.scopes))
                .filter(|lit| seen.insert(lit.value()))
                .cloned()
                .collect();
            (advertised, required)
        }
    };
    Ok(Some(Declaration {
        resource,
        scopes_supported,
        required_scopes,
        resource_name,
        resource_documentation,
        resource_policy_uri,
        resource_tos_uri,
        operations,
        krate: krate.map_or_else(|| quote!(::mcp_auth), |path| quote!(#path)),
    }))
}

/// Checks one `tool_scopes` / `prompt_scopes` / `resource_scopes` map.
fn check_scope_map(
    errors: &mut Errors,
    kind: OpKind,
    key: &str,
    map: &ScopeMap,
    scopes: Option<&StrList>,
) {
    let advertised: Option<HashSet<String>> =
        scopes.map(|list| list.items.iter().map(LitStr::value).collect());
    let mut names = HashSet::new();
    for entry in &map.entries {
        let name = entry.name.value();
        if name.is_empty() {
            errors.push(syn::Error::new(
                entry.name.span(),
                format!("{} name in `{key}` must not be empty", kind.noun()),
            ));
        } else if let OpKind::Resource = kind {
            check(errors, &entry.name, |value| {
                UriTemplate::parse(value).map(drop)
            });
        }
        if !names.insert(name.clone()) {
            errors.push(syn::Error::new(
                entry.name.span(),
                format!(
                    "`{}` is specified more than once in `{key}`",
                    name.escape_debug()
                ),
            ));
        }
        let mut seen = HashSet::new();
        for lit in &entry.scopes.items {
            let scope = lit.value();
            // One error per scope: the first rule it breaks.
            let message = if let Err(message) = scope::advertisable(&scope) {
                message
            } else if !seen.insert(scope.clone()) {
                format!(
                    "duplicate scope `{}` for {} `{}` in `{key}`",
                    scope.escape_debug(),
                    kind.noun(),
                    name.escape_debug()
                )
            } else if advertised.as_ref().is_some_and(|set| !set.contains(&scope)) {
                format!(
                    "scope `{}` of {} `{}` is not listed in `scopes`; every operation scope \
                     must be advertised in `scopes_supported`",
                    scope.escape_debug(),
                    kind.noun(),
                    name.escape_debug()
                )
            } else {
                continue;
            };
            errors.push(syn::Error::new(lit.span(), message));
        }
    }
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
        check(errors, lit, scope::advertisable);
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

/// How an original parameter is obtained from the rewritten signature.
enum ParamKind {
    /// `AuthInfo`: `Guarded::auth(&guard)`.
    Auth,
    /// `Option<AuthInfo>`: `Guarded::maybe_auth(&guard)`.
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
    let declaration = format_ident!("__MCP_AUTH_DECLARATION_{}", name);
    let private = {
        let krate = &decl.krate;
        quote!(#krate::__private)
    };

    // --- declaration -------------------------------------------------------
    let Declaration {
        resource,
        scopes_supported,
        required_scopes,
        resource_name,
        resource_documentation,
        resource_policy_uri,
        resource_tos_uri,
        operations,
        krate: _,
    } = decl;
    let opt = |lit: &Option<LitStr>| match lit {
        Some(lit) => quote!(::core::option::Option::Some(#lit)),
        None => quote!(::core::option::Option::None),
    };
    let resource_name = opt(resource_name);
    let resource_documentation = opt(resource_documentation);
    let resource_policy_uri = opt(resource_policy_uri);
    let resource_tos_uri = opt(resource_tos_uri);
    let operations = operations.iter().map(|op| {
        let kind = op.kind.variant();
        let name = &op.name;
        let scopes = &op.scopes;
        quote! {
            #private::OperationDeclaration {
                kind: #private::OperationKind::#kind,
                name: #name,
                scopes: &[#(#scopes),*],
            }
        }
    });
    let handler = LitStr::new(&name.to_string(), sig.ident.span());
    // For messages only: identity is the address of the `static`.
    let location = quote_spanned! {sig.ident.span()=>
        ::core::concat!(::core::file!(), ":", ::core::line!())
    };
    let marker_doc = format!("`#[protected_resource]` marker for the `{name}` handler.");

    // --- signature rewrite -----------------------------------------------
    // The guard comes first so that it runs before any other extractor
    // (which could consume the body).
    let guard = Ident::new("__mcp_auth_guard", Span::mixed_site());
    let mut outer_inputs: Vec<TokenStream> = Vec::new();
    let mut call_args = Vec::new();
    let (mut required, mut optional) = (false, false);
    for (index, input) in sig.inputs.iter().enumerate() {
        let FnArg::Typed(PatType { ty, .. }) = input else {
            continue; // receivers were rejected by `check_item`
        };
        match param_kind(ty) {
            ParamKind::Auth => {
                required = true;
                call_args.push(quote!(#guard.auth()));
            }
            ParamKind::OptionalAuth => {
                optional = true;
                call_args.push(quote!(#guard.maybe_auth()));
            }
            ParamKind::Other => {
                let arg = format_ident!("__mcp_auth_arg{}", index, span = Span::mixed_site());
                outer_inputs.push(quote!(#arg: #ty));
                call_args.push(quote!(#arg));
            }
        }
    }
    // Optional only for handlers that take nothing but `Option<AuthInfo>`.
    let optional = optional && !required;
    let guard_ty = quote!(#private::Guarded<#marker, #optional>);

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
        // The handler's response, made readable by browsers (CORS).
        let output = match output {
            syn::ReturnType::Default => quote!(-> #private::Cors<()>),
            syn::ReturnType::Type(arrow, ty) => quote!(#arrow #private::Cors<#ty>),
        };
        quote! {
            #constness #asyncness #unsafety #abi #fn_token #ident #generics (
                #guard: #guard_ty,
                #(#outer_inputs),*
            ) #output #where_clause
        }
    };

    quote! {
        #[doc = #marker_doc]
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #vis struct #marker;

        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        static #declaration: #private::ResourceDeclaration = #private::ResourceDeclaration {
            resource: #resource,
            scopes_supported: &[#(#scopes_supported),*],
            required_scopes: &[#(#required_scopes),*],
            operations: &[#(#operations),*],
            resource_name: #resource_name,
            resource_documentation: #resource_documentation,
            resource_policy_uri: #resource_policy_uri,
            resource_tos_uri: #resource_tos_uri,
            handler: #handler,
            location: #location,
        };

        impl #private::DeclaredResource for #marker {
            fn declaration() -> &'static #private::ResourceDeclaration {
                &#declaration
            }
        }

        #private::inventory::submit! {
            #private::Registration(&#declaration)
        }

        #(#attrs)*
        #vis #outer_sig {
            #inner_fn
            #private::Cors(#inner #turbofish (#(#call_args),*).await)
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
                "async fn h (__mcp_auth_guard : :: mcp_auth :: __private :: Guarded < \
                 __mcp_auth_resource_h , false > ,)"
            ),
            "{out}"
        );
        assert!(out.contains("__mcp_auth_handler ()"), "{out}");
    }

    #[test]
    fn guard_comes_first_and_feeds_auth_params() {
        let out = expand(
            quote!(resource = "https://api.example.com/mcp"),
            quote!(
                async fn h(body: String, auth: AuthInfo, again: Option<AuthInfo>) {}
            ),
        );
        assert!(
            out.contains(
                "async fn h (__mcp_auth_guard : :: mcp_auth :: __private :: Guarded < \
                 __mcp_auth_resource_h , false > , __mcp_auth_arg0 : String)"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "__mcp_auth_handler (__mcp_auth_arg0 , __mcp_auth_guard . auth () , \
                 __mcp_auth_guard . maybe_auth ()) . await"
            ),
            "{out}"
        );
    }

    #[test]
    fn optional_only_with_option_auth_alone() {
        let out = expand(
            quote!(resource = "https://api.example.com/mcp"),
            quote!(
                async fn h(req: HttpRequest, auth: Option<AuthInfo>) {}
            ),
        );
        assert!(
            out.contains("Guarded < __mcp_auth_resource_h , true >"),
            "{out}"
        );
        assert!(out.contains("__mcp_auth_guard . maybe_auth ()"), "{out}");
    }

    #[test]
    fn declaration_is_a_static() {
        let out = expand(
            quote!(resource = "https://api.example.com/mcp"),
            quote!(
                async fn r#type() {}
            ),
        );
        for needle in [
            "static __MCP_AUTH_DECLARATION_type : :: mcp_auth :: __private :: ResourceDeclaration",
            "fn declaration () -> & 'static :: mcp_auth :: __private :: ResourceDeclaration \
             { & __MCP_AUTH_DECLARATION_type }",
            ":: mcp_auth :: __private :: Registration (& __MCP_AUTH_DECLARATION_type)",
            "operations : & []",
            "handler : \"type\"",
        ] {
            assert!(out.contains(needle), "{needle}: {out}");
        }
        assert!(!out.contains("DECLARATION :"), "{out}");
    }

    #[test]
    fn operations_emitted_in_order() {
        let out = expand(
            quote!(
                resource = "https://api.example.com/mcp",
                scopes = ["r", "w", "a"],
                required_scopes = ["r"],
                resource_scopes = { "notes://{id}" = ["r"] },
                tool_scopes = { "add" = ["w"], "delete" = ["w", "a"], },
                prompt_scopes = { "sum" = [] },
            ),
            quote!(
                async fn h() {}
            ),
        );
        let op = |kind: &str, name: &str, scopes: &str| {
            format!(
                ":: mcp_auth :: __private :: OperationDeclaration {{ kind : :: mcp_auth :: \
                 __private :: OperationKind :: {kind} , name : \"{name}\" , scopes : & \
                 [{scopes}] , }}"
            )
        };
        let expected = format!(
            "operations : & [{} , {} , {} , {}]",
            op("Tool", "add", "\"w\""),
            op("Tool", "delete", "\"w\" , \"a\""),
            op("Prompt", "sum", ""),
            op("Resource", "notes://{id}", "\"r\""),
        );
        assert!(out.contains(&expected), "{expected}\n{out}");
        assert!(
            out.contains(r#"scopes_supported : & ["r" , "w" , "a"]"#),
            "{out}"
        );
    }

    #[test]
    fn operation_scopes_advertised_without_scopes() {
        let out = expand(
            quote!(
                resource = "https://api.example.com/mcp",
                required_scopes = ["r"],
                tool_scopes = { "add" = ["w", "r"], "delete" = ["a", "w"] },
                resource_scopes = { "notes://x" = ["x"] },
            ),
            quote!(
                async fn h() {}
            ),
        );
        assert!(
            out.contains(r#"scopes_supported : & ["r" , "w" , "a" , "x"]"#),
            "{out}"
        );
        assert!(out.contains(r#"required_scopes : & ["r"]"#), "{out}");
    }

    #[test]
    fn scope_map_errors() {
        let out = expand(
            quote!(
                resource = "https://api.example.com/mcp",
                scopes = ["r", "w"],
                required_scopes = ["r"],
                tool_scopes = { "add" = ["w"], "add" = ["r"], "" = [], "x" = ["admin", "a b"] },
                prompt_scopes = ["r"],
                resource_scopes = { "notes/{id}" = ["offline_access"], "n://{a" = ["r", "r"] },
            ),
            quote!(
                async fn h() {}
            ),
        );
        for needle in [
            "`add` is specified more than once in `tool_scopes`",
            "tool name in `tool_scopes` must not be empty",
            "scope `admin` of tool `x` is not listed in `scopes`",
            "invalid scope `a b`",
            "`prompt_scopes` must be a map from prompt names to scopes",
            "must be an absolute URI",
            "`offline_access` must not be advertised or required",
            "unclosed `{`",
            "duplicate scope `r` for resource `n://{a` in `resource_scopes`",
        ] {
            assert!(out.contains(needle), "{needle}: {out}");
        }
        assert_eq!(out.matches("compile_error").count(), 9, "{out}");
    }

    #[test]
    fn scope_map_shape_errors() {
        let out = expand(
            quote!(
                resource = "https://api.example.com/mcp",
                tool_scopes = { add = ["w"], "b" = "w", "c": ["w"] },
                prompt_scopes = { "p" = ["w"] },
                prompt_scopes = { "p" = ["w"] },
                tool_scope = { "a" = ["x"], "b" = ["y"] },
            ),
            quote!(
                async fn h() {}
            ),
        );
        for needle in [
            "tool names in `tool_scopes` must be string literals",
            "scopes of `b` in `tool_scopes` must be a list of string literals",
            "expected `\\\"name\\\" = [\\\"scope\\\", ...]` entries",
            "`prompt_scopes` is specified more than once",
            "unknown key `tool_scope`",
        ] {
            assert!(out.contains(needle), "{needle}: {out}");
        }
    }
}
