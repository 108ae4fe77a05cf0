//! A JSON-RPC request body through the per-operation scope scan (strict
//! JSON, batches, `Mcp-Method`/`Mcp-Name` cross-check, URI templates).
//! Input: the `Mcp-Method` value, `\n`, the `Mcp-Name` value, `\n`, the
//! body (an empty header line means the header was not sent).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mcp_auth::fuzzing::json_rpc(data);
});
