#!/usr/bin/env bash
# Fuzz smoke run (CI step; see fuzz/README.md): builds every cargo-fuzz
# target with nightly, then runs each for FUZZ_SECONDS from the committed
# seed corpus. Fails when any target finds a crash, a timeout or an OOM;
# the reproducer is left in fuzz/artifacts/<target>/.
#
# Environment:
#   FUZZ_SECONDS    seconds per target (default 20)
#   FUZZ_TARGETS    space-separated subset (default: every target)
#   FUZZ_SANITIZER  cargo fuzz -s value (default none: the fuzzed code is
#                   safe Rust; `address` builds ~50% longer and runs slower)
#   FUZZ_TOOLCHAIN  rustup toolchain with -Z flags (default nightly)
# New inputs go to a temporary directory: the committed corpus never grows.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
sanitizer=${FUZZ_SANITIZER:-none}
toolchain=${FUZZ_TOOLCHAIN:-nightly}
read -r -a targets <<<"${FUZZ_TARGETS:-authorization_header jwt claims jwks server_metadata json_rpc forwarded_headers}"
cargo_fuzz_version=0.13.2

if ! cargo "+$toolchain" --version >/dev/null 2>&1; then
    echo "fuzz: cargo-fuzz needs the rustup toolchain '$toolchain' (rustup toolchain install nightly)" >&2
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz $cargo_fuzz_version"
    cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked
fi
echo "fuzz: $(cargo fuzz --version), $(cargo "+$toolchain" --version), sanitizer $sanitizer, ${seconds}s per target"

start=$SECONDS
cargo "+$toolchain" fuzz build --fuzz-dir fuzz -s "$sanitizer"
echo "fuzz: build took $((SECONDS - start))s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for target in "${targets[@]}"; do
    mkdir -p "$work/$target"
    args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1)
    if [[ -f fuzz/dict/$target.dict ]]; then
        args+=(-dict="fuzz/dict/$target.dict")
    fi
    log="$work/$target.log"
    start=$SECONDS
    if cargo "+$toolchain" fuzz run --fuzz-dir fuzz -s "$sanitizer" "$target" \
        "$work/$target" "fuzz/corpus/$target" -- "${args[@]}" >"$log" 2>&1; then
        # e.g. "#91234 DONE cov: 1541 ft: 3834 corp: 502/100Kb lim: 680 exec/s: 4561 rss: 90Mb"
        done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
        echo "fuzz: $target ok ($((SECONDS - start))s): ${done_line:-no DONE line}"
    else
        failed+=("$target")
        echo "fuzz: $target FAILED ($((SECONDS - start))s); end of its log:"
        grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|RELOAD)' "$log" | tail -n 80
        ls -l "fuzz/artifacts/$target" 2>/dev/null || true
    fi
done

echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
if ((${#failed[@]})); then
    echo "fuzz: crashing targets: ${failed[*]} (reproduce: cargo +$toolchain fuzz run -s $sanitizer <target> fuzz/artifacts/<target>/<file>)" >&2
    exit 1
fi
