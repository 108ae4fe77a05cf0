//! A trusted proxy's forwarding headers (`Forwarded`, `X-Forwarded-Proto`,
//! `-Host`, `-Prefix`), one value per input line: the origin read from them
//! is allow-listed or absent, the prefix empty or a clean path.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mcp_auth::fuzzing::forwarded_headers(data);
});
