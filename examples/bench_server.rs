//! Server for `benches/load.sh` (not a user example): one Actix worker with
//! the same handler behind three routes, so their costs compare directly.
//!
//! - `GET /open`: no authentication (baseline);
//! - `GET /protected`: `BearerAuth`, verified-token cache on (default);
//! - `GET /verify-every-time`: `BearerAuth` with the cache off: every request
//!   runs the full pipeline (signature included).
//!
//! Writes `token.txt` (one valid token) and `tokens.txt` (a pool of distinct
//! tokens) to `$OUT`, then `ready`. Env: `BIND`, `OUT`, `ALG` (RS256, PS256,
//! ES256, EdDSA), `POOL`, `WORKERS`.

use actix_web::{App, HttpResponse, HttpServer, web};
use jsonwebtoken::Algorithm;
use mcp_auth::{BearerAuth, JwtOptions, McpAuth, ResourceConfig, testing::TestIssuer};

fn guard(issuer: &TestIssuer, resource: &str, jwt: JwtOptions) -> BearerAuth {
    McpAuth::builder()
        .without_declared_resources()
        .jwt_options(jwt)
        .resource(ResourceConfig::new(resource).authorization_server(issuer.resolved_config()))
        .build()
        .expect("config")
        .bearer_auth(resource)
        .expect("resource")
        .required_scopes(["mcp:read"])
        .expect("scopes")
}

async fn ok() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
    let bind = env("BIND", "127.0.0.1:18090");
    let out = std::path::PathBuf::from(env("OUT", "."));
    let alg = match env("ALG", "RS256").as_str() {
        "PS256" => Algorithm::PS256,
        "ES256" => Algorithm::ES256,
        "EdDSA" => Algorithm::EdDSA,
        _ => Algorithm::RS256,
    };
    let pool: usize = env("POOL", "4096").parse().unwrap_or(4096);
    let workers: usize = env("WORKERS", "1").parse().unwrap_or(1);
    let resource = format!("http://{bind}/mcp");

    let issuer = TestIssuer::start().await;
    let mint = || {
        issuer
            .token_builder(&resource)
            .algorithm(alg)
            .scopes(&["mcp:read"])
            .expires_in(3600)
            .sign()
    };
    std::fs::write(out.join("token.txt"), mint())?;
    let tokens: Vec<String> = (0..pool).map(|_| mint()).collect();
    std::fs::write(out.join("tokens.txt"), tokens.join("\n"))?;

    let cached = guard(&issuer, &resource, JwtOptions::default());
    let uncached = guard(&issuer, &resource, JwtOptions::default().cache_capacity(0));
    let server = HttpServer::new(move || {
        App::new()
            .route("/open", web::get().to(ok))
            .service(
                web::resource("/protected")
                    .wrap(cached.clone())
                    .route(web::get().to(ok)),
            )
            .service(
                web::resource("/verify-every-time")
                    .wrap(uncached.clone())
                    .route(web::get().to(ok)),
            )
    })
    .workers(workers)
    .bind(&bind)?
    .run();
    std::fs::write(out.join("ready"), "")?;
    server.await
}
