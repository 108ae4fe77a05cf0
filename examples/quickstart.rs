//! `cargo run --example quickstart`
//!
//! Starts, in one process, a test authorization server and an MCP endpoint
//! protected with `#[protected_resource]` on 127.0.0.1:8080, then prints
//! `curl` commands that get 200, 401 and 403.
//!
//! Environment (all optional):
//! - `BIND`: listen address (default `127.0.0.1:8080`).
//! - `MCP_RESOURCE`: public URL of the MCP endpoint (default `http://<BIND>/mcp`);
//!   its origin replaces the declared one at run time, and a path before
//!   `/mcp` is the prefix a reverse proxy publishes it under
//!   (`https://example.com/api/mcp`).
//! - `MCP_AUTH_TRUSTED_PROXIES`: comma-separated addresses or CIDR networks
//!   of reverse proxies whose `Forwarded`/`X-Forwarded-*` headers are read
//!   (e.g. `127.0.0.1`); default: none, the headers are ignored.
//! - `MCP_AUTH_ISSUER`: use this external authorization server (discovered)
//!   instead of the embedded test issuer.
//! - `MCP_AUTH_ISSUER_TYPE`: `oauth` or `oidc` (default: probe both, MCP order).
//! - `MCP_AUTH_DPOP`: `off` (default), `allowed` or `required`: DPoP-bound
//!   tokens (RFC 9449) accepted or required.
//! - `MCP_AUTH_REDIS`: e.g. `redis://127.0.0.1:6379`, the DPoP replay store
//!   shared by replicas (needs `--features redis`; default: in memory, one
//!   process).
//!
//! Features of this package: `tls` (HTTPS fetches, for an external
//! `MCP_AUTH_ISSUER=https://…`), `metrics` (Prometheus text at `GET /metrics`),
//! `redis` (`MCP_AUTH_REDIS`).

use actix_web::{App, HttpResponse, HttpServer, post, route, web};
use mcp_auth::{
    AuthInfo, DpopMode, DpopOptions, McpAuth, ResourceConfig, TrustedProxies, protected_resource,
};
use serde_json::{Value, json};

mod common;

/// The MCP endpoint: JSON-RPC over Streamable HTTP (plain JSON responses).
/// Every call needs `mcp:read`; `tools/call` of `add_note` also needs
/// `mcp:write`, checked from the body before this function runs (a real
/// HTTP 403 step-up challenge, not a JSON-RPC error).
#[protected_resource(
    resource = "http://127.0.0.1:8080/mcp",
    scopes = ["mcp:read", "mcp:write"],
    required_scopes = ["mcp:read"],
    tool_scopes = { "add_note" = ["mcp:write"] },
    resource_name = "mcp-auth-actix quickstart",
)]
#[post("/mcp")]
async fn mcp(auth: AuthInfo, body: web::Json<Value>) -> HttpResponse {
    let id = body.get("id").cloned().unwrap_or(Value::Null);
    let method = body.get("method").and_then(Value::as_str).unwrap_or("");
    let result = match method {
        "initialize" => json!({
            "protocolVersion": body["params"]["protocolVersion"].as_str().unwrap_or("2025-11-25"),
            "capabilities": { "tools": {} },
            "serverInfo": { "name": "mcp-auth-actix-quickstart", "version": env!("CARGO_PKG_VERSION") },
        }),
        "notifications/initialized" => return HttpResponse::Accepted().finish(),
        "tools/list" => json!({ "tools": [
            { "name": "whoami", "description": "Who is calling, with which scopes",
              "inputSchema": { "type": "object" } },
            { "name": "add_note", "description": "Needs the mcp:write scope",
              "inputSchema": { "type": "object", "properties": { "text": { "type": "string" } } } },
        ]}),
        "tools/call" => match body["params"]["name"].as_str() {
            Some("whoami") => tool_text(json!({
                "subject": auth.subject(),
                "client_id": auth.client_id(),
                "scopes": auth.scopes(),
            })),
            // Only reached with `mcp:write` (see `tool_scopes` above).
            Some("add_note") => tool_text(json!({ "saved": body["params"]["arguments"]["text"] })),
            _ => return rpc_error(id, -32602, "unknown tool"),
        },
        _ => return rpc_error(id, -32601, "method not found"),
    };
    HttpResponse::Ok().json(json!({ "jsonrpc": "2.0", "id": id, "result": result }))
}

/// Streamable HTTP: this server offers no SSE stream (GET) and no sessions
/// (DELETE), so it answers 405. Same resource, so the same metadata document.
/// Registered for OPTIONS too, so that the guard answers browsers' CORS
/// preflights (204) before this function could run.
#[protected_resource(
    resource = "http://127.0.0.1:8080/mcp",
    scopes = ["mcp:read", "mcp:write"],
    required_scopes = ["mcp:read"],
    resource_name = "mcp-auth-actix quickstart",
)]
#[route("/mcp", method = "GET", method = "DELETE", method = "OPTIONS")]
async fn mcp_no_stream() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header(("Allow", "POST, OPTIONS"))
        .finish()
}

fn tool_text(value: Value) -> Value {
    json!({ "content": [{ "type": "text", "text": value.to_string() }] })
}

fn rpc_error(id: Value, code: i64, message: &str) -> HttpResponse {
    HttpResponse::Ok()
        .json(json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } }))
}

/// `--features metrics`: `GET /metrics` in Prometheus text, from the
/// `metrics` facade mcp-auth-actix records through. Installed before
/// `McpAuth` is built, which describes its series to the recorder.
#[cfg(feature = "metrics")]
fn metrics_route() -> std::io::Result<impl Fn(&mut web::ServiceConfig) + Clone + Send> {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .map_err(std::io::Error::other)?;
    Ok(move |cfg: &mut web::ServiceConfig| {
        let handle = handle.clone();
        cfg.route(
            "/metrics",
            web::get().to(move || {
                handle.run_upkeep();
                let text = handle.render();
                async move {
                    HttpResponse::Ok()
                        .content_type("text/plain; version=0.0.4")
                        .body(text)
                }
            }),
        );
    })
}

#[cfg(not(feature = "metrics"))]
fn metrics_route() -> std::io::Result<impl Fn(&mut web::ServiceConfig) + Clone + Send> {
    Ok(|_: &mut web::ServiceConfig| {})
}

/// `MCP_AUTH_DPOP`: `off` (default), `allowed` or `required`.
fn dpop_mode() -> std::io::Result<DpopMode> {
    match std::env::var("MCP_AUTH_DPOP").as_deref() {
        Err(_) | Ok("" | "off") => Ok(DpopMode::Off),
        Ok("allowed") => Ok(DpopMode::Allowed),
        Ok("required") => Ok(DpopMode::Required),
        Ok(other) => Err(std::io::Error::other(format!(
            "MCP_AUTH_DPOP={other:?}: expected off, allowed or required"
        ))),
    }
}

/// `MCP_AUTH_REDIS`: the DPoP replay store shared by replicas (feature
/// `redis`); without it, the default in-memory store (one process).
async fn dpop_options() -> std::io::Result<DpopOptions> {
    let Ok(url) = std::env::var("MCP_AUTH_REDIS") else {
        return Ok(DpopOptions::default());
    };
    #[cfg(feature = "redis")]
    {
        let store = mcp_auth::RedisReplayStore::connect(&url)
            .await
            .map_err(std::io::Error::other)?;
        println!("DPoP replays     Redis at {url}");
        Ok(DpopOptions::default().replay_store(store))
    }
    #[cfg(not(feature = "redis"))]
    {
        Err(std::io::Error::other(format!(
            "MCP_AUTH_REDIS={url} needs the Redis replay store: \
             cargo run --example quickstart --features redis"
        )))
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let (bind, resource) = common::bind_and_resource();
    let dpop = dpop_mode()?;
    let dpop_options = dpop_options().await?;
    let origin = url_origin(&resource);
    // The declared path is `/mcp`: whatever precedes it is a proxy's prefix.
    let public_base = resource.strip_suffix("/mcp").unwrap_or(&origin).to_owned();
    let metrics = metrics_route()?;
    // The embedded issuer lives as long as `main`.
    let (server, embedded) = common::authorization_server().await?;
    if !cfg!(feature = "tls") && server.issuer().starts_with("https:") {
        return Err(std::io::Error::other(
            "an https issuer needs TLS: cargo run --example quickstart --features tls",
        ));
    }
    let mut builder = McpAuth::builder()
        .authorization_server(server)
        // The declared resource (the macros above), with its DPoP mode.
        .resource(ResourceConfig::new("http://127.0.0.1:8080/mcp").dpop(dpop))
        .dpop(dpop_options)
        .public_origin(public_base);
    if let Ok(proxies) = std::env::var("MCP_AUTH_TRUSTED_PROXIES") {
        builder = builder.trusted_proxies(TrustedProxies::new(proxies.split(',').map(str::trim)));
    }
    let auth = builder.build().map_err(std::io::Error::other)?;
    let metadata_url = auth
        .resource_metadata_url(&resource)
        .unwrap_or_default()
        .to_owned();

    println!("MCP endpoint     {resource}");
    println!("Metadata         curl -s {metadata_url}");
    if cfg!(feature = "metrics") {
        println!("Metrics          curl -s {origin}/metrics");
    } else {
        println!("Metrics          --features metrics adds GET /metrics");
    }
    if let Some(issuer) = &embedded {
        let read = issuer
            .token_builder(&resource)
            .scopes(&["mcp:read"])
            .expires_in(3600)
            .sign();
        let post = |token: Option<&str>, tool: &str| {
            let auth = token
                .map(|t| format!(" -H 'Authorization: Bearer {t}'"))
                .unwrap_or_default();
            format!(
                "curl -si {resource}{auth} -H 'Content-Type: application/json' \
                 -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{{\"name\":\"{tool}\"}}}}'"
            )
        };
        println!("Test issuer      {}", issuer.issuer());
        let bearer_status = if dpop == DpopMode::Required {
            "401 (a bearer token where DPoP is required)"
        } else {
            "200 (valid token)"
        };
        println!("\n{bearer_status}:\n  {}", post(Some(&read), "whoami"));
        println!(
            "\n401 (no token, challenge with resource_metadata):\n  {}",
            post(None, "whoami")
        );
        if dpop != DpopMode::Required {
            println!(
                "\n403 (read-only token calls a write tool; the challenge lists scope=\"mcp:read mcp:write\"):\n  {}",
                post(Some(&read), "add_note")
            );
        }
        println!(
            "\nTokens: POST {} grant_type=client_credentials&resource={resource}&scope=mcp:read",
            issuer.token_endpoint()
        );
        if dpop != DpopMode::Off {
            let key = mcp_auth::testing::DpopKey::generate(jsonwebtoken::Algorithm::ES256);
            let bound = issuer
                .token_builder(&resource)
                .scopes(&["mcp:read"])
                .dpop_bound(&key)
                .expires_in(3600)
                .sign();
            let proof = key.proof("POST", &resource, Some(&bound));
            println!(
                "\n200 (DPoP-bound token and its proof: one use, within 5 minutes):\n  \
                 curl -si {resource} -H 'Authorization: DPoP {bound}' -H 'DPoP: {proof}' \
                 -H 'Content-Type: application/json' \
                 -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{{\"name\":\"whoami\"}}}}'"
            );
            println!(
                "(a token request with a DPoP proof gets a bound token: token_type DPoP, RFC 9449 §5)"
            );
        }
    }
    println!();

    HttpServer::new(move || {
        App::new()
            .app_data(auth.clone())
            .configure(mcp_auth::routes)
            .configure(metrics.clone())
            .service(mcp)
            .service(mcp_no_stream)
    })
    .bind(&bind)?
    .run()
    .await
}

/// `scheme://host[:port]` of a URL.
fn url_origin(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    url[..end].to_owned()
}
