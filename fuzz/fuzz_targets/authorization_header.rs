//! The `Authorization` header parser (`Bearer` scheme, one header) and the
//! RFC 6750 token68 syntax check, on arbitrary header bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mcp_auth::fuzzing::authorization_header(data);
});
