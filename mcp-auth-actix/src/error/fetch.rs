//! Errors of outgoing requests (discovery, JWKS, introspection).

/// Fetching or parsing remote metadata (discovery documents, JWKS,
/// introspection responses) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL could not be parsed or is not absolute.
    #[error("invalid URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// Plain `http` to a non-loopback host without
    /// [`HttpOptions::allow_insecure_http`](crate::HttpOptions).
    #[error("refusing plain-http URL `{url}`: only https (or http to loopback) is allowed")]
    InsecureUrl {
        /// The URL.
        url: String,
    },
    /// No complete response (connect, headers and body) within the deadline
    /// ([`HttpOptions::timeout`](crate::HttpOptions::timeout)).
    #[error("no complete response from `{url}` within {limit:?}")]
    Timeout {
        /// The URL.
        url: String,
        /// The deadline.
        limit: std::time::Duration,
    },
    /// Connection or protocol failure.
    #[error("request to `{url}` failed: {reason}")]
    Request {
        /// The URL.
        url: String,
        /// Transport error message.
        reason: String,
    },
    /// The server answered with a non-2xx status.
    #[error("`{url}` answered HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The body exceeded the configured limit.
    #[error("response from `{url}` exceeds {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not JSON.
    #[error("response from `{url}` is not JSON: {reason}")]
    NotJson {
        /// The URL.
        url: String,
        /// Parser message.
        reason: String,
    },
    /// The body is JSON but not an object.
    #[error("response from `{url}` is not a JSON object")]
    NotObject {
        /// The URL.
        url: String,
    },
    /// The object does not match the expected schema.
    #[error("invalid metadata from `{url}`: {reason}")]
    Schema {
        /// The URL.
        url: String,
        /// Which field is wrong and why.
        reason: String,
    },
    /// The fetched `issuer` differs from the one requested (RFC 8414 §3.3).
    #[error(
        "issuer mismatch: requested `{expected}` but the metadata says `{actual}` (RFC 8414 §3.3)"
    )]
    IssuerMismatch {
        /// The issuer used to build the well-known URL.
        expected: String,
        /// The `issuer` in the document.
        actual: String,
    },
    /// No well-known URL of the discovery probe order answered with metadata.
    #[error("no authorization server metadata found for `{issuer}`: {}", attempts.join("; "))]
    NotFound {
        /// The issuer.
        issuer: String,
        /// One line per URL tried.
        attempts: Vec<String>,
    },
    /// The fetched metadata failed validation.
    #[error("authorization server `{issuer}` metadata is invalid: {}", codes.join(", "))]
    InvalidMetadata {
        /// The issuer.
        issuer: String,
        /// Validation error codes.
        codes: Vec<&'static str>,
    },
}
