//! `validate_server_config`: is this authorization server usable by MCP
//! clients? Same checks, codes and messages as the reference library.

use url::Url;

use super::AuthorizationServerMetadata;

/// One validation outcome, with the reference library's codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ValidationCode {
    /// Error: required members are missing or malformed.
    InvalidServerMetadata,
    /// Error: no `response_types_supported` entry contains `code`.
    CodeResponseTypeNotSupported,
    /// Error: `grant_types_supported` lacks `authorization_code`.
    AuthorizationCodeGrantNotSupported,
    /// Error: no `code_challenge_methods_supported`.
    PkceNotSupported,
    /// Error: `code_challenge_methods_supported` lacks `S256`.
    S256CodeChallengeMethodNotSupported,
    /// Warning: no `registration_endpoint`.
    DynamicRegistrationNotSupported,
    /// Success (verbose mode).
    ServerMetadataValid,
    /// Success (verbose mode).
    CodeResponseTypeSupported,
    /// Success (verbose mode).
    AuthorizationCodeGrantSupported,
    /// Success (verbose mode).
    PkceSupported,
    /// Success (verbose mode).
    S256CodeChallengeMethodSupported,
    /// Success (verbose mode).
    DynamicRegistrationSupported,
}

impl ValidationCode {
    /// The snake_case code, e.g. `pkce_not_supported`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidServerMetadata => "invalid_server_metadata",
            Self::CodeResponseTypeNotSupported => "code_response_type_not_supported",
            Self::AuthorizationCodeGrantNotSupported => "authorization_code_grant_not_supported",
            Self::PkceNotSupported => "pkce_not_supported",
            Self::S256CodeChallengeMethodNotSupported => "s256_code_challenge_method_not_supported",
            Self::DynamicRegistrationNotSupported => "dynamic_registration_not_supported",
            Self::ServerMetadataValid => "server_metadata_valid",
            Self::CodeResponseTypeSupported => "code_response_type_supported",
            Self::AuthorizationCodeGrantSupported => "authorization_code_grant_supported",
            Self::PkceSupported => "pkce_supported",
            Self::S256CodeChallengeMethodSupported => "s256_code_challenge_method_supported",
            Self::DynamicRegistrationSupported => "dynamic_registration_supported",
        }
    }

    /// The reference library's description.
    pub fn description(self) -> &'static str {
        match self {
            Self::InvalidServerMetadata => {
                "The server metadata is not a valid object or does not conform to the expected schema."
            }
            Self::CodeResponseTypeNotSupported => {
                "The server does not support the \"code\" response type or the \"code\" response type is not included in one of the supported response types."
            }
            Self::AuthorizationCodeGrantNotSupported => {
                "The server does not support the \"authorization_code\" grant type."
            }
            Self::PkceNotSupported => {
                "The server does not support Proof Key for Code Exchange (PKCE)."
            }
            Self::S256CodeChallengeMethodNotSupported => {
                "The server does not support the \"S256\" code challenge method for Proof Key for Code Exchange (PKCE)."
            }
            Self::DynamicRegistrationNotSupported => {
                "Dynamic Client Registration (RFC 7591) is not supported by the server."
            }
            Self::ServerMetadataValid => "The server metadata is valid.",
            Self::CodeResponseTypeSupported => "The server supports the \"code\" response type.",
            Self::AuthorizationCodeGrantSupported => {
                "The server supports the \"authorization_code\" grant type."
            }
            Self::PkceSupported => "The server supports Proof Key for Code Exchange (PKCE).",
            Self::S256CodeChallengeMethodSupported => {
                "The server supports the \"S256\" code challenge method."
            }
            Self::DynamicRegistrationSupported => {
                "Dynamic Client Registration (RFC 7591) is supported by the server."
            }
        }
    }
}

/// The outcome of [`validate_server_config`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationResult {
    /// Problems that make the server unusable for MCP clients.
    pub errors: Vec<ValidationCode>,
    /// Problems worth logging.
    pub warnings: Vec<ValidationCode>,
    /// Checks that passed (only in verbose mode).
    pub successes: Vec<ValidationCode>,
}

impl ValidationResult {
    /// `true` when there are no errors.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Checks that an authorization server supports what MCP clients need:
/// the `code` response type, the `authorization_code` grant, PKCE with
/// `S256`; warns when Dynamic Client Registration is missing.
/// With `verbose`, passing checks are listed in `successes`.
pub fn validate_server_config(
    metadata: &AuthorizationServerMetadata,
    verbose: bool,
) -> ValidationResult {
    use ValidationCode::*;
    let mut result = ValidationResult::default();
    let mut check = |ok: bool, success: ValidationCode, failure: ValidationCode, error: bool| {
        if ok {
            if verbose {
                result.successes.push(success);
            }
        } else if error {
            result.errors.push(failure);
        } else {
            result.warnings.push(failure);
        }
    };

    let schema_ok = is_url(&metadata.issuer)
        && is_url(&metadata.authorization_endpoint)
        && is_url(&metadata.token_endpoint)
        && !metadata.response_types_supported.is_empty();
    check(schema_ok, ServerMetadataValid, InvalidServerMetadata, true);
    if !schema_ok {
        return result;
    }

    let code = metadata
        .response_types_supported
        .iter()
        .any(|t| t.split(' ').any(|part| part == "code"));
    check(
        code,
        CodeResponseTypeSupported,
        CodeResponseTypeNotSupported,
        true,
    );

    let grant = match &metadata.grant_types_supported {
        Some(grants) => grants.iter().any(|g| g == "authorization_code"),
        None => true, // RFC 8414 default: ["authorization_code", "implicit"]
    };
    check(
        grant,
        AuthorizationCodeGrantSupported,
        AuthorizationCodeGrantNotSupported,
        true,
    );

    match &metadata.code_challenge_methods_supported {
        Some(methods) if !methods.is_empty() => {
            check(true, PkceSupported, PkceNotSupported, true);
            check(
                methods.iter().any(|m| m == "S256"),
                S256CodeChallengeMethodSupported,
                S256CodeChallengeMethodNotSupported,
                true,
            );
        }
        _ => check(false, PkceSupported, PkceNotSupported, true),
    }

    check(
        metadata
            .registration_endpoint
            .as_deref()
            .is_some_and(|e| !e.is_empty()),
        DynamicRegistrationSupported,
        DynamicRegistrationNotSupported,
        false,
    );
    result
}

fn is_url(s: &str) -> bool {
    Url::parse(s).is_ok_and(|u| !u.cannot_be_a_base())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ValidationCode::*;

    fn good() -> AuthorizationServerMetadata {
        AuthorizationServerMetadata {
            code_challenge_methods_supported: Some(vec!["S256".into()]),
            registration_endpoint: Some("https://as.example/register".into()),
            grant_types_supported: Some(vec!["authorization_code".into()]),
            ..AuthorizationServerMetadata::new(
                "https://as.example",
                "https://as.example/authorize",
                "https://as.example/token",
                ["code"],
            )
        }
    }

    #[test]
    fn valid_and_verbose() {
        let r = validate_server_config(&good(), false);
        assert!(r.is_valid() && r.warnings.is_empty() && r.successes.is_empty());
        let r = validate_server_config(&good(), true);
        assert_eq!(
            r.successes,
            [
                ServerMetadataValid,
                CodeResponseTypeSupported,
                AuthorizationCodeGrantSupported,
                PkceSupported,
                S256CodeChallengeMethodSupported,
                DynamicRegistrationSupported
            ]
        );
    }

    #[test]
    fn each_error_code() {
        let mut m = good();
        m.response_types_supported = vec!["token".into(), "id_token token".into()];
        assert_eq!(
            validate_server_config(&m, false).errors,
            [CodeResponseTypeNotSupported]
        );
        let mut m = good();
        m.response_types_supported = vec!["code id_token".into()];
        assert!(validate_server_config(&m, false).is_valid());

        let mut m = good();
        m.grant_types_supported = Some(vec!["client_credentials".into()]);
        assert_eq!(
            validate_server_config(&m, false).errors,
            [AuthorizationCodeGrantNotSupported]
        );
        m.grant_types_supported = None;
        assert!(validate_server_config(&m, false).is_valid());

        let mut m = good();
        m.code_challenge_methods_supported = None;
        assert_eq!(validate_server_config(&m, false).errors, [PkceNotSupported]);
        m.code_challenge_methods_supported = Some(vec![]);
        assert_eq!(validate_server_config(&m, false).errors, [PkceNotSupported]);
        m.code_challenge_methods_supported = Some(vec!["plain".into()]);
        assert_eq!(
            validate_server_config(&m, false).errors,
            [S256CodeChallengeMethodNotSupported]
        );

        let mut m = good();
        m.registration_endpoint = None;
        let r = validate_server_config(&m, false);
        assert!(r.is_valid());
        assert_eq!(r.warnings, [DynamicRegistrationNotSupported]);

        let mut m = good();
        m.token_endpoint = "not a url".into();
        assert_eq!(
            validate_server_config(&m, true).errors,
            [InvalidServerMetadata]
        );
    }

    #[test]
    fn codes_match_reference() {
        assert_eq!(PkceNotSupported.as_str(), "pkce_not_supported");
        assert_eq!(
            S256CodeChallengeMethodNotSupported.as_str(),
            "s256_code_challenge_method_not_supported"
        );
        assert_eq!(
            DynamicRegistrationNotSupported.description(),
            "Dynamic Client Registration (RFC 7591) is not supported by the server."
        );
    }
}
