//! Code generation: the declaration's `static` and link-time registration,
//! and the handler rewritten to take the guard as its first argument.

use super::*;

/// How an original parameter is obtained from the rewritten signature.
pub(super) enum ParamKind {
    /// `AuthInfo`: `Guarded::auth(&guard)`.
    Auth,
    /// `Option<AuthInfo>`: `Guarded::maybe_auth(&guard)`.
    OptionalAuth,
    /// Any other extractor, passed through unchanged.
    Other,
}

pub(super) fn emit(decl: &Declaration, func: ItemFn) -> TokenStream {
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

pub(super) fn param_kind(ty: &Type) -> ParamKind {
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
