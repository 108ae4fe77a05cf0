//! A JWT claims object (JSON) through the claim policy (`iss`, `exp`,
//! `nbf`, `iat`, `aud`) and the scope extraction (`scope`, `scp`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mcp_auth::fuzzing::claims(data);
});
