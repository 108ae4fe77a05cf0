//! Pure validators for attribute values. They return a human-readable message
//! on failure; `expand.rs` turns it into a `syn::Error` spanned on the literal.

use url::{Host, Url};

/// Validates an RFC 6749 §3.3 `scope-token`:
/// `1*( %x21 / %x23-5B / %x5D-7E )`.
pub(crate) fn scope_token(scope: &str) -> Result<(), String> {
    if scope.is_empty() {
        return Err(
            "scope must not be empty (RFC 6749 §3.3: a scope-token is 1 or more characters)".into(),
        );
    }
    if let Some(c) = scope.chars().find(|&c| !is_scope_char(c)) {
        let shown = match c {
            ' ' => "a space".to_owned(),
            '"' => "`\"`".to_owned(),
            '\\' => "`\\`".to_owned(),
            c if c.is_control() || c.is_whitespace() => format!("{c:?}"),
            c => format!("`{c}`"),
        };
        return Err(format!(
            "invalid scope `{}`: contains {shown}; RFC 6749 §3.3 scope tokens may only contain \
             printable ASCII except space, `\"` and `\\` (a space separates scopes: list each \
             scope as its own string)",
            scope.escape_debug()
        ));
    }
    Ok(())
}

fn is_scope_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

fn parse_absolute(key: &str, value: &str) -> Result<Url, String> {
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

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        None => false,
    }
}

/// Validates a protected resource identifier (RFC 9728 §1.2, RFC 8707 §2).
pub(crate) fn resource_identifier(value: &str) -> Result<(), String> {
    let url = parse_absolute("resource", value)?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(
                "`resource` must use the `https` scheme; `http` is only allowed for \
                 `localhost`, `127.0.0.1` and `[::1]` (RFC 9728 §1.2)"
                    .into(),
            );
        }
        other => {
            return Err(format!(
                "`resource` must be an `https` URL, found scheme `{other}` (RFC 9728 §1.2)"
            ));
        }
    }
    if url.host().is_none() {
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
    Ok(())
}

/// Validates a metadata URL such as `resource_documentation`: an absolute
/// `http` or `https` URL.
pub(crate) fn http_url(key: &str, value: &str) -> Result<(), String> {
    let url = parse_absolute(key, value)?;
    match url.scheme() {
        "https" | "http" => {}
        other => {
            return Err(format!(
                "`{key}` must be an absolute `http` or `https` URL, found scheme `{other}`"
            ));
        }
    }
    if url.host().is_none() {
        return Err(format!("`{key}` must contain a host"));
    }
    Ok(())
}

/// Validates `resource_name`: a non-blank human-readable name.
pub(crate) fn resource_name(value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("`resource_name` must not be empty".into());
    }
    Ok(())
}

/// Validates a `resource_scopes` key: an absolute URI, or an RFC 6570
/// level 1/2 URI template whose expressions are `{name}` or `{+name}`.
pub(crate) fn resource_template(value: &str) -> Result<(), String> {
    let shown = value.escape_debug();
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "resource URI `{shown}` must not contain whitespace or control characters"
        ));
    }
    let mut rest = value;
    while let Some(start) = rest.find(['{', '}']) {
        if rest[start..].starts_with('}') {
            return Err(format!(
                "resource URI template `{shown}` has a `}}` without a matching `{{`"
            ));
        }
        let after = &rest[start + 1..];
        let Some(end) = after.find(['{', '}']) else {
            return Err(format!(
                "resource URI template `{shown}` has an unclosed `{{`"
            ));
        };
        if after[end..].starts_with('{') {
            return Err(format!(
                "resource URI template `{shown}` nests `{{` inside an expression; \
                 expressions cannot be nested"
            ));
        }
        let expression = &after[..end];
        let name = expression.strip_prefix('+').unwrap_or(expression);
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "invalid expression `{{{}}}` in resource URI template `{shown}`: expected \
                 `{{name}}` or `{{+name}}` with a name of ASCII letters, digits and `_` \
                 (RFC 6570 levels 1 and 2)",
                expression.escape_debug()
            ));
        }
        rest = &after[end + 1..];
        if rest.starts_with('{') {
            return Err(format!(
                "resource URI template `{shown}` has two adjacent expressions; separate \
                 variables with literal text (e.g. `{{a}}/{{b}}`) so that a URI matches \
                 unambiguously"
            ));
        }
    }
    let is_scheme = |scheme: &str| {
        let mut chars = scheme.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    };
    match value.split_once(':') {
        Some((scheme, _)) if is_scheme(scheme) => Ok(()),
        _ => Err(format!(
            "resource URI `{shown}` must be an absolute URI starting with a scheme, e.g. \
             \"notes://{{id}}\" or \"file:///{{+path}}\", not a relative reference"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_tokens() {
        let cases: &[(&str, bool)] = &[
            ("notes:read", true),
            ("openid", true),
            ("a", true),
            ("!#$%&'()*+,-./:;<=>?@[]^_`{|}~", true),
            ("https://api.example.com/notes.read", true),
            ("", false),
            ("notes read", false),
            (" notes", false),
            ("notes\"", false),
            ("notes\\read", false),
            ("notes\tread", false),
            ("notes\nread", false),
            ("\x7f", false),
            ("caf\u{e9}", false),
            ("\u{a0}", false),
        ];
        for &(scope, ok) in cases {
            assert_eq!(scope_token(scope).is_ok(), ok, "scope {scope:?}");
        }
    }

    #[test]
    fn scope_token_messages() {
        let err = scope_token("notes read").unwrap_err();
        assert!(err.contains("contains a space"), "{err}");
        let err = scope_token("").unwrap_err();
        assert!(err.contains("must not be empty"), "{err}");
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
            ("http://[::1]:3000/mcp", Ok(())),
            ("", Err("must not be empty")),
            ("/notes/mcp", Err("absolute URL")),
            ("api.example.com/mcp", Err("absolute URL")),
            (" https://api.example.com", Err("whitespace")),
            ("https://api.example.com/a b", Err("whitespace")),
            ("https://", Err("not a valid absolute URL")),
            ("http://api.example.com/mcp", Err("`http` is only allowed")),
            ("http://127.0.0.2/mcp", Err("`http` is only allowed")),
            (
                "http://localhost.example.com/",
                Err("`http` is only allowed"),
            ),
            ("ftp://api.example.com/", Err("found scheme `ftp`")),
            ("urn:example:notes", Err("found scheme `urn`")),
            ("https://api.example.com/mcp#frag", Err("fragment")),
            ("https://api.example.com/mcp#", Err("fragment")),
            ("https://user@api.example.com/", Err("userinfo")),
            ("https://user:pw@api.example.com/", Err("userinfo")),
            ("https://:pw@api.example.com/", Err("userinfo")),
            ("https://api.example.com/mcp?tenant=1", Err("query")),
            ("https://api.example.com/mcp?", Err("query")),
        ];
        for &(value, expected) in cases {
            match (resource_identifier(value), expected) {
                (Ok(()), Ok(())) => {}
                (Err(err), Err(needle)) => {
                    assert!(err.contains(needle), "{value:?}: {err:?} lacks {needle:?}")
                }
                (got, want) => panic!("{value:?}: got {got:?}, want {want:?}"),
            }
        }
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
    fn resource_templates() {
        let cases: &[(&str, Result<(), &str>)] = &[
            ("notes://index", Ok(())),
            ("notes://{id}", Ok(())),
            ("notes://private/{+path}", Ok(())),
            ("file:///{+path}", Ok(())),
            ("https://example.com/{a}/{b_2}", Ok(())),
            ("urn:example:{id}", Ok(())),
            ("notes://{id}}", Err("without a matching")),
            ("notes://}{", Err("without a matching")),
            ("notes://{id", Err("unclosed")),
            ("notes://{a{b}}", Err("nests")),
            ("notes://{}", Err("invalid expression `{}`")),
            ("notes://{+}", Err("invalid expression `{+}`")),
            ("notes://{a-b}", Err("invalid expression `{a-b}`")),
            ("notes://{#frag}", Err("invalid expression")),
            ("notes://{a,b}", Err("invalid expression")),
            ("notes://{/path}", Err("invalid expression")),
            ("notes://{a}{b}", Err("adjacent")),
            ("notes://{a}-{+b}", Ok(())),
            ("notes/{id}", Err("absolute URI")),
            ("/notes/{id}", Err("absolute URI")),
            ("{scheme}://x", Err("absolute URI")),
            ("1notes://x", Err("absolute URI")),
            ("notes:// x", Err("whitespace")),
        ];
        for &(value, expected) in cases {
            match (resource_template(value), expected) {
                (Ok(()), Ok(())) => {}
                (Err(err), Err(needle)) => {
                    assert!(err.contains(needle), "{value:?}: {err:?} lacks {needle:?}")
                }
                (got, want) => panic!("{value:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn resource_names() {
        assert!(resource_name("Notes").is_ok());
        assert!(resource_name("").is_err());
        assert!(resource_name("   ").is_err());
    }
}
