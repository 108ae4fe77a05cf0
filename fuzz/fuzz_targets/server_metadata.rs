//! RFC 8414 / OIDC discovery authorization server metadata, deserialized
//! and validated for MCP use.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mcp_auth::fuzzing::server_metadata(data);
});
