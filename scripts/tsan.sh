#!/bin/bash
# tsan.sh -- the thread tests under ThreadSanitizer (issue 8): a clang build
# with -fsanitize=thread in its own directory, then the reliability thread
# stress test (8 threads, one shared model) and the graph suite
# (tests/graph/test_graph.c: its shared-model test and everything else it
# exercises, built as 'graph_tsan') with CK_FORK=no, and the trainer's own
# threads (train_threads: steps split over 2 to 8 threads).
#
#   ./scripts/tsan.sh            configure build-tsan/ if needed, build the
#                                two tests, run them; exits non-zero on any
#                                race report or test failure
#
# Environment: SEQNET_TSAN_BUILDDIR (default: build-tsan).
#
# OpenBLAS is not instrumented: it runs single-threaded
# (OPENBLAS_NUM_THREADS=1), so its own worker threads, whose
# synchronisation TSan cannot see, never start. tests/reliability/tsan.supp
# is the suppression file; it may only ever name OpenBLAS internals, never
# seqnet code (see docs/RELIABILITY.md).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
builddir=${SEQNET_TSAN_BUILDDIR:-build-tsan}

if [[ ! -f $builddir/meson-private/coredata.dat ]]; then
    CC=clang meson setup "$builddir" -Dblas=openblas -Db_sanitize=thread -Db_lundef=false \
        -Dtests=true -Dexamples=false
fi
# Only the programs we run. They link the library statically: with clang's
# TSan the runtime lives in the executable, and libseqnet.so (linked with
# -Wl,--no-undefined) cannot be built (tests/reliability/meson.build).
ninja -C "$builddir" tests/reliability/test_threads tests/reliability/test_graph_tsan \
    tests/reliability/test_train_threads

export OPENBLAS_NUM_THREADS=1
export CK_FORK=no
# TSan makes every memory access slower: 1500 sequences (15,000
# classifications per thread) instead of the native 4000.
export SEQNET_THREADS_SEQS=${SEQNET_THREADS_SEQS:-1500}
# halt_on_error: the first report fails the test (exit code 66).
export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1:suppressions=$root/tests/reliability/tsan.supp"
meson test -C "$builddir" --no-rebuild --print-errorlogs --timeout-multiplier 4 threads graph_tsan \
    train_threads
