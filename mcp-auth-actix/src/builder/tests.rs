//! `build()`: what it accepts, and each mistake it reports.

use super::*;
use crate::ResourceServerMetadata;
use crate::auth_server::{AuthServerType, AuthorizationServerMetadata};

fn server(issuer: &str) -> AuthServerConfig {
    let mut m = AuthorizationServerMetadata::new(
        issuer,
        format!("{issuer}/authorize"),
        format!("{issuer}/token"),
        ["code"],
    );
    m.code_challenge_methods_supported = Some(vec!["S256".into()]);
    m.registration_endpoint = Some(format!("{issuer}/register"));
    m.jwks_uri = Some(format!("{issuer}/jwks"));
    AuthServerConfig::resolved(m, AuthServerType::OAuth)
}

fn build(resources: Vec<ResourceConfig>) -> Result<McpAuth, ConfigError> {
    resources
        .into_iter()
        .fold(
            McpAuth::builder().without_declared_resources(),
            McpAuthBuilder::resource,
        )
        .build()
}

#[test]
fn good_config_builds_without_network() {
    let auth = build(vec![
        ResourceConfig::new("https://api.example/mcp")
            .authorization_server(server("https://as.example"))
            .scopes_supported(["read", "write"]),
    ])
    .unwrap();
    let doc = auth.resource_metadata("https://api.example/mcp").unwrap();
    assert_eq!(doc["authorization_servers"][0], "https://as.example");
    assert_eq!(doc["bearer_methods_supported"][0], "header");
    assert_eq!(
        auth.resource_metadata_url("https://api.example/mcp"),
        Some("https://api.example/.well-known/oauth-protected-resource/mcp")
    );
}

#[test]
fn each_bad_config_names_field_and_reason() {
    let ok = || {
        ResourceConfig::new("https://api.example/mcp")
            .authorization_server(server("https://as.example"))
    };
    let cases: Vec<(Vec<ResourceConfig>, &str)> = vec![
        (vec![ok(), ok()], "configured more than once"),
        (
            vec![ok().authorization_server(server("https://as.example"))],
            "listed more than once",
        ),
        (
            vec![ResourceConfig::new("https://api.example/mcp")],
            "no authorization server",
        ),
        (
            vec![ResourceConfig::new("/mcp").authorization_server(server("https://as.example"))],
            "must be an absolute URL",
        ),
        (
            vec![
                ResourceConfig::new("https://api.example/mcp#x")
                    .authorization_server(server("https://as.example")),
            ],
            "fragment",
        ),
        (
            vec![
                ResourceConfig::new("https://api.example/mcp?x=1")
                    .authorization_server(server("https://as.example")),
            ],
            "query",
        ),
        (
            vec![
                ResourceConfig::new("http://api.example/mcp")
                    .authorization_server(server("https://as.example")),
            ],
            "https",
        ),
        (
            vec![
                ResourceConfig::new("https://u:p@api.example/mcp")
                    .authorization_server(server("https://as.example")),
            ],
            "userinfo",
        ),
        (vec![ok().scopes_supported(["a b"])], "invalid scope `a b`"),
        (vec![ok().scopes_supported([""])], "must not be empty"),
        (vec![ok().scopes_supported(["a", "a"])], "listed twice"),
        (
            vec![
                ResourceConfig::new("https://api.example/mcp")
                    .authorization_server(server("http://as.example")),
            ],
            "invalid issuer",
        ),
        (
            vec![
                ResourceConfig::new("https://api.example/mcp").authorization_server(
                    AuthServerConfig::discover_as(
                        "https://as.example/.well-known/oauth-authorization-server",
                        AuthServerType::OAuth,
                    ),
                ),
            ],
            "metadata URL",
        ),
    ];
    for (resources, needle) in cases {
        let err = build(resources).unwrap_err().to_string();
        assert!(err.contains(needle), "`{err}` should mention `{needle}`");
    }
    let mut m = ResourceServerMetadata::new("https://api.example/mcp");
    m.resource_signing_alg_values_supported = vec!["RS256".into(), "none".into()];
    let err = build(vec![
        ResourceConfig::from_metadata(m).authorization_server(server("https://as.example")),
    ]);
    assert!(
        err.unwrap_err()
            .to_string()
            .contains("resource_signing_alg_values_supported")
    );

    let mut bad = AuthorizationServerMetadata::new(
        "https://as.example",
        "https://as.example/a",
        "https://as.example/t",
        ["code"],
    );
    bad.code_challenge_methods_supported = Some(vec!["plain".into()]);
    let err = build(vec![
        ResourceConfig::new("https://api.example/mcp")
            .authorization_server(AuthServerConfig::resolved(bad, AuthServerType::OAuth)),
    ]);
    assert!(
        err.unwrap_err()
            .to_string()
            .contains("s256_code_challenge_method_not_supported")
    );
}

#[test]
fn public_origin_rewrites_identifiers() {
    let auth = McpAuth::builder()
        .without_declared_resources()
        .authorization_server(server("https://as.example"))
        .resource(ResourceConfig::new("https://api.example.com/mcp"))
        .public_origin("http://127.0.0.1:8080")
        .build()
        .unwrap();
    assert_eq!(
        auth.resources().collect::<Vec<_>>(),
        ["http://127.0.0.1:8080/mcp"]
    );
    assert!(auth.bearer_auth("https://api.example.com/mcp").is_ok());
    assert!(auth.bearer_auth("https://other.example/mcp").is_err());
}

/// Shared by every Actix worker: must stay `Send + Sync`.
#[test]
fn shared_types_are_send_and_sync() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<McpAuth>();
    check::<BearerAuth>();
    check::<crate::AuthInfo>();
    check::<crate::OperationScopes>();
}

#[test]
fn scope_hierarchy_is_closed_and_checked() {
    let direct: HashMap<String, Vec<String>> = [
        ("admin".to_owned(), vec!["write".to_owned()]),
        ("write".to_owned(), vec!["read".to_owned()]),
    ]
    .into();
    let closed = closure("r", direct).unwrap();
    assert_eq!(closed["admin"], ["write", "read"]);
    assert_eq!(closed["write"], ["read"]);
    let bad: HashMap<String, Vec<String>> = [("a b".to_owned(), vec![])].into();
    assert!(matches!(
        closure("r", bad),
        Err(ConfigError::InvalidScope {
            field: "scope_implies",
            ..
        })
    ));
}

/// Feature unification can leave jsonwebtoken with two backends (or
/// none): `build()` must say so instead of a panic on the first request.
/// CI runs this with `--features rust-crypto` (both) and with
/// `--no-default-features` (neither).
#[test]
fn crypto_backend_is_checked_at_build() {
    let result = build(vec![
        ResourceConfig::new("https://api.example/mcp")
            .authorization_server(server("https://as.example")),
    ]);
    let exactly_one = cfg!(feature = "aws-lc-rs") != cfg!(feature = "rust-crypto");
    match result {
        Ok(_) => assert!(exactly_one),
        Err(ConfigError::CryptoBackend { reason }) => {
            assert!(!exactly_one);
            assert!(reason.contains("aws-lc-rs") && reason.contains("rust-crypto"));
        }
        Err(other) => panic!("unexpected: {other}"),
    }
}

/// Collects formatted log output.
#[derive(Clone, Default)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `f` with this thread's logs at `level` and above collected:
/// its result and the formatted log text.
fn logged<T>(level: tracing::Level, f: impl FnOnce() -> T) -> (T, String) {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(level)
        .finish();
    let result = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    (result, text)
}

#[test]
fn claim_policy_relaxations_are_logged_once_per_resource_at_info() {
    let ((), text) = logged(tracing::Level::INFO, || {
        build(vec![
            ResourceConfig::new("https://api.example/mcp")
                .authorization_server(server("https://as.example"))
                .accept_client_ids(["cognito-app"])
                .require_claim("token_use", "access"),
            ResourceConfig::new("https://api.example/plain")
                .authorization_server(server("https://as.example")),
            ResourceConfig::new("https://api.example/entra")
                .authorization_server(server("https://as.example"))
                .scope_claims(["scp", "roles"])
                .require_any_claim(["scp", "roles"]),
        ])
        .unwrap();
    });
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("claim policy"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    for needle in [
        " INFO ",
        "https://api.example/mcp",
        "cognito-app",
        "token_use",
    ] {
        assert!(lines[0].contains(needle), "{needle} in {}", lines[0]);
    }
    for needle in [
        "https://api.example/entra",
        r#"required_any_claims=[["scp", "roles"]]"#,
        r#"scope_claims=["scp", "roles"]"#,
    ] {
        assert!(lines[1].contains(needle), "{needle} in {}", lines[1]);
    }
    assert!(!text.contains("https://api.example/plain"), "{text}");
}

#[test]
fn a_tenant_template_advertised_as_is_warns_once_and_advertise_as_replaces_it() {
    let template = "https://login.example/{tenantid}/v2.0";
    let (auth, text) = logged(tracing::Level::WARN, || {
        let entra = server(template).allowed_tenants(["t1"]);
        McpAuth::builder()
            .without_declared_resources()
            .authorization_server(entra)
            .resource(ResourceConfig::new("https://api.example/a"))
            .resource(ResourceConfig::new("https://api.example/b"))
            .build()
            .unwrap()
    });
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("advertise_as"))
        .collect();
    assert_eq!(warnings.len(), 1, "{text}");
    assert!(warnings[0].contains(" WARN "), "{}", warnings[0]);
    let doc = auth.resource_metadata("https://api.example/a").unwrap();
    assert_eq!(doc["authorization_servers"][0], template);

    let (auth, text) = logged(tracing::Level::WARN, || {
        build(vec![
            ResourceConfig::new("https://api.example/a").authorization_server(
                server(template)
                    .allowed_tenants(["t1"])
                    .advertise_as("https://login.example/organizations/v2.0"),
            ),
        ])
        .unwrap()
    });
    assert!(!text.contains("advertise_as"), "{text}");
    let doc = auth.resource_metadata("https://api.example/a").unwrap();
    assert_eq!(
        doc["authorization_servers"],
        serde_json::json!(["https://login.example/organizations/v2.0"])
    );
}
