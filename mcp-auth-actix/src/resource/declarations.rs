//! `#[protected_resource]` declarations (registered at link time, see
//! `__private`) folded into the configured resources.

use std::collections::HashMap;

use crate::{
    __private::ResourceDeclaration, ResourceServerMetadata, error::ConfigError,
    resource::ResourceConfig,
};

/// Folds `#[protected_resource]` declarations into the configured resources:
/// handlers sharing an identifier become one resource (their metadata must
/// agree); a configured resource with the same identifier takes the
/// declared metadata for members it leaves empty.
pub(crate) fn merge_declarations(
    mut resources: Vec<ResourceConfig>,
    declarations: &[&'static ResourceDeclaration],
) -> Result<Vec<ResourceConfig>, ConfigError> {
    let mut first: HashMap<&str, &'static ResourceDeclaration> = HashMap::new();
    for decl in declarations {
        if let Some(prev) = first.get(decl.resource) {
            if let Some(field) = differing_field(prev, decl) {
                return Err(ConfigError::ConflictingDeclarations {
                    resource: decl.resource.to_owned(),
                    field,
                    first: format!("{} ({})", prev.location, prev.handler),
                    second: format!("{} ({})", decl.location, decl.handler),
                });
            }
            continue;
        }
        first.insert(decl.resource, decl);
        let declared = declared_metadata(decl);
        match resources
            .iter_mut()
            .find(|r| r.metadata.resource == decl.resource)
        {
            Some(existing) => {
                let m = &mut existing.metadata;
                if m.scopes_supported.is_empty() {
                    m.scopes_supported = declared.scopes_supported;
                } else if !declared.scopes_supported.is_empty()
                    && m.scopes_supported != declared.scopes_supported
                {
                    return Err(ConfigError::ConflictingDeclarations {
                        resource: decl.resource.to_owned(),
                        field: "scopes_supported",
                        first: "McpAuthBuilder::resource".into(),
                        second: format!("{} ({})", decl.location, decl.handler),
                    });
                }
                for (mine, theirs) in [
                    (&mut m.resource_name, declared.resource_name),
                    (
                        &mut m.resource_documentation,
                        declared.resource_documentation,
                    ),
                    (&mut m.resource_policy_uri, declared.resource_policy_uri),
                    (&mut m.resource_tos_uri, declared.resource_tos_uri),
                ] {
                    if mine.is_none() {
                        *mine = theirs;
                    }
                }
            }
            None => {
                resources.push(ResourceConfig::from_metadata(declared));
            }
        }
    }
    Ok(resources)
}

fn declared_metadata(decl: &ResourceDeclaration) -> ResourceServerMetadata {
    let owned = |s: Option<&str>| s.map(str::to_owned);
    ResourceServerMetadata {
        scopes_supported: decl
            .scopes_supported
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        resource_name: owned(decl.resource_name),
        resource_documentation: owned(decl.resource_documentation),
        resource_policy_uri: owned(decl.resource_policy_uri),
        resource_tos_uri: owned(decl.resource_tos_uri),
        ..ResourceServerMetadata::new(decl.resource)
    }
}

fn differing_field(a: &ResourceDeclaration, b: &ResourceDeclaration) -> Option<&'static str> {
    if a.scopes_supported != b.scopes_supported {
        Some("scopes")
    } else if a.resource_name != b.resource_name {
        Some("resource_name")
    } else if a.resource_documentation != b.resource_documentation {
        Some("resource_documentation")
    } else if a.resource_policy_uri != b.resource_policy_uri {
        Some("resource_policy_uri")
    } else if a.resource_tos_uri != b.resource_tos_uri {
        Some("resource_tos_uri")
    } else {
        None
    }
}
