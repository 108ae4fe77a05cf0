//! Unit tests of the expansion (the UI tests in `tests/ui` cover what the
//! compiler prints).

use super::{
    emit::{ParamKind, param_kind},
    *,
};

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
