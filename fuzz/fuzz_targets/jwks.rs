//! A JWK Set document, as fetched from an issuer's `jwks_uri`, parsed into
//! verification keys.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mcp_auth::fuzzing::jwks(data);
});
