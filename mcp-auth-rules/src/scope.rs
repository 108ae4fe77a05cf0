//! Scopes (RFC 6749 §3.3) as a protected resource may advertise and require them.

/// The scope MCP servers SHOULD NOT advertise or require (MCP 2026-07-28):
/// clients ask for it themselves when the authorization server issues
/// refresh tokens.
pub const OFFLINE_ACCESS: &str = "offline_access";

/// An RFC 6749 §3.3 `scope-token`: `1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn token(scope: &str) -> Result<(), String> {
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

/// A scope a resource may advertise (`scopes_supported`) or require (route
/// and operation scopes): a [`token`] other than [`OFFLINE_ACCESS`].
pub fn advertisable(scope: &str) -> Result<(), String> {
    token(scope)?;
    if scope == OFFLINE_ACCESS {
        return Err(
            "`offline_access` must not be advertised or required by an MCP server (MCP \
             2026-07-28): clients request it themselves when the authorization server issues \
             refresh tokens; remove it"
                .into(),
        );
    }
    Ok(())
}

fn is_scope_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
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
            assert_eq!(token(scope).is_ok(), ok, "scope {scope:?}");
        }
    }

    #[test]
    fn messages_name_the_problem() {
        assert!(
            token("notes read")
                .unwrap_err()
                .contains("contains a space")
        );
        assert!(token("").unwrap_err().contains("must not be empty"));
        assert!(
            advertisable("offline_access")
                .unwrap_err()
                .contains("remove it")
        );
        assert!(advertisable("notes:read").is_ok());
    }
}
