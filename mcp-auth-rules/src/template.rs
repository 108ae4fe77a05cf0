//! Resource URI templates for `resource_scopes` / `OperationScopes::resource`:
//! an absolute URI, or an RFC 6570 level 1/2 template whose expressions are
//! `{name}` (one or more characters, none of `/`, `?`, `#`) or `{+name}`
//! (one or more characters), matched against a whole URI.

/// A parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UriTemplate {
    source: String,
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// `{var}`
    Segment,
    /// `{+var}`
    Reserved,
}

impl UriTemplate {
    /// Parses `source`, or says what is wrong with it.
    pub fn parse(source: &str) -> Result<Self, String> {
        let shown = source.escape_debug();
        if source.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "resource URI `{shown}` must not contain whitespace or control characters"
            ));
        }
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err(format!(
                    "resource URI template `{shown}` has a `}}` without a matching `{{`"
                ));
            }
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let Some(close) = after.find(['{', '}']) else {
                return Err(format!(
                    "resource URI template `{shown}` has an unclosed `{{`"
                ));
            };
            if after[close..].starts_with('{') {
                return Err(format!(
                    "resource URI template `{shown}` nests `{{` inside an expression; \
                     expressions cannot be nested"
                ));
            }
            let expression = &after[..close];
            let (part, name) = match expression.strip_prefix('+') {
                Some(name) => (Part::Reserved, name),
                None => (Part::Segment, expression),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "invalid expression `{{{}}}` in resource URI template `{shown}`: expected \
                     `{{name}}` or `{{+name}}` with a name of ASCII letters, digits and `_` \
                     (RFC 6570 levels 1 and 2)",
                    expression.escape_debug()
                ));
            }
            if matches!(parts.last(), Some(Part::Segment | Part::Reserved)) {
                return Err(format!(
                    "resource URI template `{shown}` has two adjacent expressions; separate \
                     variables with literal text (e.g. `{{a}}/{{b}}`) so that a URI matches \
                     unambiguously"
                ));
            }
            parts.push(part);
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        let scheme_ok = match &parts.first() {
            Some(Part::Literal(first)) => first.split_once(':').is_some_and(|(scheme, _)| {
                let mut chars = scheme.chars();
                chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                    && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            }),
            _ => false,
        };
        if !scheme_ok {
            return Err(format!(
                "resource URI `{shown}` must be an absolute URI starting with a scheme, e.g. \
                 \"notes://{{id}}\" or \"file:///{{+path}}\", not a relative reference"
            ));
        }
        Ok(Self {
            source: source.to_owned(),
            parts,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the whole of `uri` matches.
    pub fn matches(&self, uri: &str) -> bool {
        matches_parts(&self.parts, uri)
    }
}

/// Backtracking match; variables are separated by literals, so each
/// variable tries each occurrence of the next literal.
fn matches_parts(parts: &[Part], uri: &str) -> bool {
    match parts.split_first() {
        None => uri.is_empty(),
        Some((Part::Literal(lit), rest)) => uri
            .strip_prefix(lit.as_str())
            .is_some_and(|tail| matches_parts(rest, tail)),
        Some((var, rest)) => {
            let allowed = |c: char| matches!(var, Part::Reserved) || !matches!(c, '/' | '?' | '#');
            let max = uri.find(|c| !allowed(c)).unwrap_or(uri.len());
            (1..=max)
                .rev()
                .filter(|end| uri.is_char_boundary(*end))
                .any(|end| matches_parts(rest, &uri[end..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        let cases: &[(&str, Result<(), &str>)] = &[
            ("notes://index", Ok(())),
            ("notes://{id}", Ok(())),
            ("notes://private/{+path}", Ok(())),
            ("file:///{+path}", Ok(())),
            ("https://example.com/{a}/{b_2}", Ok(())),
            ("urn:example:{id}", Ok(())),
            ("notes://{a}-{+b}", Ok(())),
            ("notes://{id}}", Err("without a matching")),
            ("notes://}{", Err("without a matching")),
            ("notes://{id", Err("unclosed")),
            ("x:{", Err("unclosed")),
            ("notes://{a{b}}", Err("nests")),
            ("notes://{}", Err("invalid expression `{}`")),
            ("notes://{+}", Err("invalid expression `{+}`")),
            ("notes://{a-b}", Err("invalid expression `{a-b}`")),
            ("notes://{#frag}", Err("invalid expression")),
            ("notes://{a,b}", Err("invalid expression")),
            ("notes://{/path}", Err("invalid expression")),
            ("notes://{a}{b}", Err("adjacent")),
            ("notes", Err("absolute URI")),
            ("notes/{id}", Err("absolute URI")),
            ("/notes/{id}", Err("absolute URI")),
            ("{scheme}://x", Err("absolute URI")),
            ("1notes://x", Err("absolute URI")),
            ("notes:// x", Err("whitespace")),
        ];
        for &(value, expected) in cases {
            match (UriTemplate::parse(value), expected) {
                (Ok(_), Ok(())) => {}
                (Err(err), Err(needle)) => {
                    assert!(err.contains(needle), "{value:?}: {err:?} lacks {needle:?}")
                }
                (got, want) => panic!("{value:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn matching() {
        let t = UriTemplate::parse("file:///{dir}/x/{+rest}").unwrap();
        assert!(t.matches("file:///a/x/b/c"));
        assert!(!t.matches("file:///a/b/x/c"));
        assert!(!t.matches("file:///a/x/"));
        let exact = UriTemplate::parse("notes://index").unwrap();
        assert!(exact.matches("notes://index") && !exact.matches("notes://index2"));
        let e = UriTemplate::parse("u:{a}é{b}").unwrap();
        assert!(e.matches("u:xéy"));
        let segment = UriTemplate::parse("notes://{id}").unwrap();
        assert!(segment.matches("notes://1") && !segment.matches("notes://1/2"));
        assert!(!segment.matches("notes://") && !segment.matches("notes://1?x"));
    }
}
