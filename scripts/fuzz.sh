#!/bin/bash
# fuzz.sh -- build the libFuzzer targets with clang (ASan + UBSan, the whole
# library instrumented for coverage) in build-fuzz/ and run each for a bounded
# time over its seed corpus.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#   scripts/fuzz.sh build          only configure and build (then, e.g.,
#                                  meson test -C build-fuzz --no-rebuild --suite fuzz)
#
# SECONDS per target (default 60). TARGETs default to every fuzz_* program
# the build produced. New inputs the fuzzer finds go to build-fuzz/fuzz-work/
# (the committed corpora are only read). A crash leaves its reproducer in
# build-fuzz/fuzz-artifacts/ and makes the script exit non-zero; the last
# lines of each run (execs, coverage) are printed either way.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-60}
shift || true
builddir=build-fuzz

if [[ ! -f $builddir/meson-private/coredata.dat ]]; then
    CC=clang meson setup "$builddir" -Dfuzzing=true -Dexamples=false \
        -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args=-fsanitize=fuzzer-no-link
fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    for src in tests/fuzz/fuzz_*.c; do
        targets+=("$(basename "$src" .c)")
    done
fi
# Only the fuzz programs: with clang's sanitizers the shared library cannot
# link with -Wl,--no-undefined, and the targets use the static one anyway.
ninja -C "$builddir" "${targets[@]/#/tests/fuzz/}" >/dev/null
if [[ $seconds == build ]]; then
    exit 0
fi

mkdir -p "$builddir/fuzz-artifacts"
export ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
for target in "${targets[@]}"; do
    exe=$builddir/tests/fuzz/$target
    seeds=tests/fuzz/corpus_${target#fuzz_}
    case $target in
        fuzz_model_load) seeds=tests/fuzz/corpus_model ;;
    esac
    work=$builddir/fuzz-work/$target
    mkdir -p "$work"
    dirs=("$work")
    [[ -d $seeds ]] && dirs+=("$seeds")
    echo "== $target: ${seconds}s over ${dirs[*]}"
    log=$builddir/fuzz-work/$target.log
    if "$exe" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$builddir/fuzz-artifacts/$target-" \
        "${dirs[@]}" >"$log" 2>&1; then
        grep -E '^(#[0-9]+.*DONE|Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)' \
            "$log" || tail -n 3 "$log"
    else
        echo "== $target FAILED (log: $log)"
        tail -n 60 "$log"
        status=1
    fi
done
exit $status
