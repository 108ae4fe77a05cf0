//! Why a DPoP proof was refused: RFC 9449 `invalid_dpop_proof` (which check
//! failed), `use_dpop_nonce` (with the nonce to send), or a server-side
//! failure (replay store down, no crypto backend).
//!
//! Descriptions are fixed strings: nothing from the proof is ever echoed.

use super::replay::ReplayError;

/// The check of RFC 9449 §4.3 that a proof failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// Longer than `DpopOptions::max_proof_bytes`.
    TooLarge,
    /// Not a compact JWS with a base64url JSON-object header and payload.
    Malformed,
    /// `typ` is not `dpop+jwt`.
    Type,
    /// `alg` is missing, symmetric, `none` or not allowed.
    Algorithm,
    /// A `crit` header.
    Critical,
    /// `jwk` is missing, malformed, of an unsupported type or curve, or does
    /// not fit `alg`.
    Key,
    /// `jwk` holds private or symmetric key material.
    PrivateKey,
    /// An RSA `jwk` under 2048 bits.
    WeakKey,
    /// The signature does not verify with `jwk`.
    Signature,
    /// `jti` missing, not a string, empty or too long.
    Jti,
    /// `htm` missing or not the request method.
    Method,
    /// `htu` missing, not a URL, or not the request URL.
    Url,
    /// `iat` missing, not a number, or outside the window.
    IssuedAt,
    /// `ath` missing (with an access token) or not its hash.
    AccessTokenHash,
    /// The proof (`jkt` + `jti`) was already used.
    Replayed,
}

impl Check {
    /// A short description for `error_description`.
    pub(crate) fn description(self) -> &'static str {
        match self {
            Self::TooLarge => "The DPoP proof is too large.",
            Self::Malformed => "The DPoP proof is not a well-formed JWT.",
            Self::Type => "The DPoP proof's `typ` must be `dpop+jwt`.",
            Self::Algorithm => "The DPoP proof's signing algorithm is not allowed.",
            Self::Critical => {
                "The DPoP proof uses critical header extensions this server does not understand."
            }
            Self::Key => "The DPoP proof's `jwk` is missing, unsupported or does not fit `alg`.",
            Self::PrivateKey => "The DPoP proof's `jwk` must be a public key.",
            Self::WeakKey => "The DPoP proof's RSA key is shorter than 2048 bits.",
            Self::Signature => "The DPoP proof's signature is invalid.",
            Self::Jti => "The DPoP proof's `jti` is missing or invalid.",
            Self::Method => "The DPoP proof's `htm` does not match the request method.",
            Self::Url => "The DPoP proof's `htu` does not match the request URL.",
            Self::IssuedAt => "The DPoP proof's `iat` is missing or outside the accepted window.",
            Self::AccessTokenHash => {
                "The DPoP proof's `ath` is missing or does not match the access token."
            }
            Self::Replayed => "The DPoP proof was already used.",
        }
    }

    /// A bounded label for metrics and logs.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::Type => "token_type",
            Self::Algorithm => "algorithm",
            Self::Critical => "crit",
            Self::Key => "key",
            Self::PrivateKey => "private_key",
            Self::WeakKey => "weak_key",
            Self::Signature => "signature",
            Self::Jti => "jti",
            Self::Method => "htm",
            Self::Url => "htu",
            Self::IssuedAt => "iat",
            Self::AccessTokenHash => "ath",
            Self::Replayed => "replay",
        }
    }
}

/// Why a DPoP proof was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DpopError {
    /// RFC 9449 `invalid_dpop_proof` (401).
    #[error("invalid DPoP proof: {}", .0.description())]
    Invalid(Check),
    /// RFC 9449 §9 `use_dpop_nonce` (401): the proof has no nonce, or a stale
    /// or unknown one. Send `nonce` in a `DPoP-Nonce` header.
    #[error("a DPoP nonce is required")]
    UseNonce {
        /// The current server nonce.
        nonce: String,
    },
    /// The proof is valid but its key is not the one the access token is
    /// bound to (`cnf.jkt`): 401 `invalid_token` (RFC 9449 §7.1, Figure 16).
    #[error("the DPoP proof key does not match the token's binding")]
    KeyBinding,
    /// The replay store could not answer: fail closed (503).
    #[error("DPoP replay store unavailable: {0}")]
    Unavailable(ReplayError),
    /// No crypto backend to verify the proof (500; `build()` reports it too).
    #[error("no crypto backend to verify DPoP proofs")]
    NoBackend,
}

impl From<Check> for DpopError {
    fn from(check: Check) -> Self {
        Self::Invalid(check)
    }
}

impl From<crate::crypto::NoBackend> for DpopError {
    fn from(_: crate::crypto::NoBackend) -> Self {
        Self::NoBackend
    }
}

impl DpopError {
    /// The RFC 9449 `error` code of the `DPoP` challenge, if this is a
    /// client error.
    pub(crate) fn error_code(&self) -> Option<&'static str> {
        match self {
            Self::Invalid(_) => Some("invalid_dpop_proof"),
            Self::UseNonce { .. } => Some("use_dpop_nonce"),
            Self::KeyBinding => Some("invalid_token"),
            Self::Unavailable(_) | Self::NoBackend => None,
        }
    }

    /// The `error_description` (fixed text, never from the request).
    pub(crate) fn description(&self) -> &'static str {
        match self {
            Self::Invalid(check) => check.description(),
            Self::UseNonce { .. } => "Resource server requires nonce in DPoP proof",
            Self::KeyBinding => "Invalid DPoP key binding",
            Self::Unavailable(_) => "The DPoP replay check is temporarily unavailable.",
            Self::NoBackend => "DPoP proofs cannot be verified: no crypto backend.",
        }
    }

    /// A bounded label for metrics and logs: one of the [`Check::reason`]
    /// values, `nonce`, `binding`, `replay_store` or `backend`.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::Invalid(check) => check.reason(),
            Self::UseNonce { .. } => "nonce",
            Self::KeyBinding => "binding",
            Self::Unavailable(_) => "replay_store",
            Self::NoBackend => "backend",
        }
    }

    /// The nonce for a `DPoP-Nonce` response header.
    pub(crate) fn nonce(&self) -> Option<&str> {
        match self {
            Self::UseNonce { nonce } => Some(nonce),
            _ => None,
        }
    }
}
