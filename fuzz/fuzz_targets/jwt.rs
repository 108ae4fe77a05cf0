//! A JWT through the verifier up to the issuer check (no trusted issuer:
//! every token must be refused, never accepted), then its payload through
//! the claim policy.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A bearer token reaches the verifier as UTF-8 (the header parser
    // refuses anything else first).
    if let Ok(token) = std::str::from_utf8(data) {
        mcp_auth::fuzzing::jwt(token);
    }
});
