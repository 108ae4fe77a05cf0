//! Parsing and checking the attribute's arguments into a [`Declaration`]:
//! every mistake is a compile error spanned on the offending literal.

use super::*;

/// Parses and validates the attribute arguments. `Ok(None)` never escapes:
/// errors are accumulated and returned together.
pub(super) fn parse_attr(attr: TokenStream) -> syn::Result<Option<Declaration>> {
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
