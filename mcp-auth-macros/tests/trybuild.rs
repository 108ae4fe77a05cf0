//! UI tests for `#[protected_resource]`.
//!
//! Compiler output changes between releases, so the `.stderr` snapshots are
//! pinned to one toolchain (as actix-web-codegen does). Regenerate them with
//! `TRYBUILD=overwrite cargo test -p mcp-auth-macros --test trybuild`.

#[rustversion::attr(not(stable(1.95)), ignore)]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
