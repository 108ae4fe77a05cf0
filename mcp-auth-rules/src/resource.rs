//! Protected resource identifiers (RFC 9728 §1.2, RFC 8707 §2) and the
//! other URLs a resource's metadata holds.

use std::net::IpAddr;

use url::{Host, Url};

/// `localhost`, `127.0.0.0/8` or `[::1]`: the hosts plain `http` is allowed
/// for (RFC 8252 §8.3 loopback).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The scheme rule for identifiers and fetched URLs: `https`, or `http` to a
/// loopback host (any host when `allow_insecure_http`).
pub fn secure_scheme(key: &str, url: &Url, allow_insecure_http: bool) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_insecure_http || is_loopback(url) => Ok(()),
        "http" => Err(format!(
            "`{key}` must use the `https` scheme; `http` is only allowed for loopback hosts \
             (`localhost`, `127.0.0.0/8`, `[::1]`)"
        )),
        other => Err(format!(
            "`{key}` must be an `https` URL, found scheme `{other}`"
        )),
    }
}

/// A resource identifier's shape: an absolute URL with a host, no user
/// information, query or fragment. The scheme is checked separately with
/// [`secure_scheme`], after any origin override.
pub fn identifier(value: &str) -> Result<Url, String> {
    let url = absolute("resource", value)?;
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err("`resource` must contain a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "`resource` must not contain userinfo (`user:password@`); credentials do not \
             belong in a resource identifier"
                .into(),
        );
    }
    if url.query().is_some() {
        return Err(
            "`resource` must not contain a query component: RFC 8707 §2 says a resource \
             indicator SHOULD NOT include one, and clients send the identifier verbatim as \
             the token audience"
                .into(),
        );
    }
    if url.fragment().is_some() {
        return Err("`resource` must not contain a fragment (RFC 8707 §2, RFC 9728 §1.2)".into());
    }
    Ok(url)
}

/// A metadata URL such as `resource_documentation`: an absolute `http` or
/// `https` URL with a host.
pub fn http_url(key: &str, value: &str) -> Result<Url, String> {
    let url = absolute(key, value)?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!(
            "`{key}` must be an absolute `http` or `https` URL, found scheme `{}`",
            url.scheme()
        ));
    }
    if url.host().is_none() {
        return Err(format!("`{key}` must contain a host"));
    }
    Ok(url)
}

/// `resource_name`: a non-blank human-readable name.
pub fn name(value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("`resource_name` must not be empty".into());
    }
    Ok(())
}

fn absolute(key: &str, value: &str) -> Result<Url, String> {
    if value.is_empty() {
        return Err(format!("`{key}` must not be empty"));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "`{key}` must not contain whitespace or control characters"
        ));
    }
    Url::parse(value).map_err(|err| match err {
        url::ParseError::RelativeUrlWithoutBase => format!(
            "`{key}` must be an absolute URL (e.g. \"https://api.example.com/mcp\"), \
             not a relative reference"
        ),
        err => format!("`{key}` is not a valid absolute URL: {err}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(value: &str) -> Result<(), String> {
        let url = identifier(value)?;
        secure_scheme("resource", &url, false)
    }

    #[test]
    fn resource_identifiers() {
        let cases: &[(&str, Result<(), &str>)] = &[
            ("https://api.example.com", Ok(())),
            ("https://api.example.com/", Ok(())),
            ("https://api.example.com/notes/mcp", Ok(())),
            ("https://api.example.com:8443/mcp", Ok(())),
            ("https://192.0.2.1/mcp", Ok(())),
            ("http://localhost:8080/mcp", Ok(())),
            ("http://LOCALHOST/mcp", Ok(())),
            ("http://127.0.0.1:3000", Ok(())),
            ("http://127.0.0.2/mcp", Ok(())),
            ("http://[::1]:3000/mcp", Ok(())),
            ("", Err("must not be empty")),
            ("/notes/mcp", Err("absolute URL")),
            ("api.example.com/mcp", Err("absolute URL")),
            (" https://api.example.com", Err("whitespace")),
            ("https://api.example.com/a b", Err("whitespace")),
            ("https://", Err("not a valid absolute URL")),
            (
                "http://api.example.com/mcp",
                Err("only allowed for loopback"),
            ),
            ("http://128.0.0.1/mcp", Err("only allowed for loopback")),
            (
                "http://localhost.example.com/",
                Err("only allowed for loopback"),
            ),
            ("ftp://api.example.com/", Err("found scheme `ftp`")),
            ("urn:example:notes", Err("must contain a host")),
            ("https://api.example.com/mcp#frag", Err("fragment")),
            ("https://api.example.com/mcp#", Err("fragment")),
            ("https://user@api.example.com/", Err("userinfo")),
            ("https://user:pw@api.example.com/", Err("userinfo")),
            ("https://:pw@api.example.com/", Err("userinfo")),
            ("https://api.example.com/mcp?tenant=1", Err("query")),
            ("https://api.example.com/mcp?", Err("query")),
        ];
        for &(value, expected) in cases {
            match (resource(value), expected) {
                (Ok(()), Ok(())) => {}
                (Err(err), Err(needle)) => {
                    assert!(err.contains(needle), "{value:?}: {err:?} lacks {needle:?}")
                }
                (got, want) => panic!("{value:?}: got {got:?}, want {want:?}"),
            }
        }
        let url = identifier("http://api.example.com/mcp").unwrap();
        assert!(
            secure_scheme("resource", &url, true).is_ok(),
            "allow_insecure_http"
        );
    }

    #[test]
    fn http_urls() {
        let cases: &[(&str, bool)] = &[
            ("https://docs.example.com/notes", true),
            ("http://docs.example.com/notes", true),
            ("https://docs.example.com/notes?lang=en#intro", true),
            ("docs.example.com", false),
            ("/docs", false),
            ("mailto:docs@example.com", false),
            ("ftp://docs.example.com/", false),
            ("", false),
        ];
        for &(value, ok) in cases {
            assert_eq!(
                http_url("resource_documentation", value).is_ok(),
                ok,
                "url {value:?}"
            );
        }
    }

    #[test]
    fn names() {
        assert!(name("Notes").is_ok());
        assert!(name("").is_err());
        assert!(name("   ").is_err());
    }
}
