//! Environment handling shared by the examples.

use mcp_auth::{AuthServerConfig, testing::TestIssuer};

/// `BIND` (default `127.0.0.1:8080`) and `MCP_RESOURCE` (default `http://<BIND>/mcp`).
pub fn bind_and_resource() -> (String, String) {
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let resource = std::env::var("MCP_RESOURCE").unwrap_or_else(|_| format!("http://{bind}/mcp"));
    (bind, resource)
}

/// The authorization server: `MCP_AUTH_ISSUER` (discovered; `MCP_AUTH_ISSUER_TYPE`
/// = `oauth`|`oidc` to skip probing), or an embedded test issuer, which is
/// returned so that it lives as long as the caller keeps it.
pub async fn authorization_server() -> std::io::Result<(AuthServerConfig, Option<TestIssuer>)> {
    let Ok(issuer) = std::env::var("MCP_AUTH_ISSUER") else {
        let embedded = TestIssuer::start().await;
        return Ok((embedded.discovery_config(), Some(embedded)));
    };
    let config = match std::env::var("MCP_AUTH_ISSUER_TYPE") {
        Ok(ty) => AuthServerConfig::discover_as(issuer, ty.parse().map_err(std::io::Error::other)?),
        Err(_) => AuthServerConfig::discover(issuer),
    };
    Ok((config, None))
}
