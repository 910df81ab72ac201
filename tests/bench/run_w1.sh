#!/bin/bash
# run_w1.sh -- workload W1 (the course's pooled-embedding model), seqnet and
# PyTorch side by side in one run, with 1 and 2 threads.
#
# Usage: tests/bench/run_w1.sh [BUILD_DIR]
#   BUILD_DIR  a meson build directory of seqnet (default: build). When it
#              holds tests/bench/bench_w1 (tests/meson.build does
#              subdir('bench')), that program is rebuilt with meson and used.
#              Otherwise the library and the bench are compiled directly with
#              gcc into $W1_BUILD (default /tmp/seqnet-bench-w1), -O2, OpenBLAS.
# Environment:
#   RUNS (7)        timed runs per measurement (median printed)
#   ROUNDS (1)      repeat the whole comparison, alternating the two sides; each
#                   cell then shows the best round (for busy shared machines)
#   TARGET (0.5)    seconds per timed run
#   PYTHON (/usr/bin/python3)  Debian's interpreter with python3-torch
#   OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE: left as set, for both sides alike.
#
# Threads: with 1 thread seqnet runs on the calling thread; with 2 it is
# measured with OpenBLAS's pool (OPENBLAS_NUM_THREADS=2) and with the
# trainer's own threads (--threads 2, SEQNET_TRAIN_THREADS; OpenBLAS on one
# thread), and each cell shows the better. PyTorch gets its best settings from
# ../shared/bench/ANCHORS.md: glibc malloc tuned (torch_ref.py's default),
# 1 thread = --threads 1, 2 threads = --threads 2 --blas-threads 1.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
RUNS=${RUNS:-7}
TARGET=${TARGET:-0.5}
ROUNDS=${ROUNDS:-1}
PYTHON=${PYTHON:-/usr/bin/python3}

# ---- build the bench program if needed -------------------------------------
bench=""
if [ -f "$build/build.ninja" ] && grep -q 'tests/bench/bench_w1' "$build/build.ninja"; then
    meson compile -C "$build" tests/bench/bench_w1 >/dev/null
    bench="$build/tests/bench/bench_w1"
else
    out=${W1_BUILD:-/tmp/seqnet-bench-w1}
    mkdir -p "$out"
    lib="$out/libseqnet.so"
    srcs=$(ls "$root"/lib/core/*.c "$root"/lib/graph/*.c "$root"/lib/layers/*.c "$root"/lib/train/*.c)
    stale=0
    if [ ! -f "$lib" ]; then
        stale=1
    else
        for f in $srcs "$root"/lib/*/*.h "$root"/include/seqnet/*.h; do
            if [ "$f" -nt "$lib" ]; then stale=1; break; fi
        done
    fi
    blas_cflags=$(pkg-config --cflags openblas 2>/dev/null || true)
    blas_libs=$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
    if [ "$stale" = 1 ]; then
        echo "building libseqnet into $out ..." >&2
        # shellcheck disable=SC2086
        gcc -std=c11 -O2 -g -fPIC -D_POSIX_C_SOURCE=200809L -DSEQNET_BUILDING \
            -I"$root/include" -I"$root/lib" $blas_cflags -pthread -shared -o "$lib" $srcs $blas_libs -lm
    fi
    bench="$out/bench_w1"
    if [ ! -f "$bench" ] || [ "$lib" -nt "$bench" ] || [ "$here/bench_w1.c" -nt "$bench" ]; then
        gcc -std=c11 -O2 -g -Wall -Wextra -pedantic -D_POSIX_C_SOURCE=200809L \
            -I"$root/include" -o "$bench" "$here/bench_w1.c" -L"$out" -lseqnet -lm \
            -Wl,-rpath,"$out"
    fi
fi

# ---- run -------------------------------------------------------------------
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
echo "W1: Embedding(62297,30) -> GlobalAveragePooling1D -> Dropout(0.5) -> Dense(20,relu)" >&2
echo "    -> Dropout(0.5) -> Dense(1,sigmoid); BCE, Adam; batch 64 x 500 tokens" >&2
round=1
while [ "$round" -le "$ROUNDS" ]; do
    for n in 1 2; do
        echo "round $round: seqnet, OPENBLAS_NUM_THREADS=$n ..." >&2
        OPENBLAS_NUM_THREADS=$n "$bench" --runs "$RUNS" --target "$TARGET" >>"$tmp"
        if [ "$n" = 2 ]; then
            echo "round $round: seqnet, SEQNET_TRAIN_THREADS=2, OPENBLAS_NUM_THREADS=1 ..." >&2
            OPENBLAS_NUM_THREADS=1 "$bench" --runs "$RUNS" --target "$TARGET" --threads 2 >>"$tmp"
        fi
        if [ "$n" = 1 ]; then targs="--threads 1"; else targs="--threads 2 --blas-threads 1"; fi
        echo "round $round: pytorch, $targs --malloc tuned ..." >&2
        # shellcheck disable=SC2086
        (cd "$here" && "$PYTHON" torch_ref.py $targs --malloc tuned --only W1 \
            --runs "$RUNS" --target "$TARGET") | sed 's/^{/{"impl": "pytorch", /' >>"$tmp"
    done
    round=$((round + 1))
done

"$PYTHON" - "$tmp" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
by, nround = {}, {}
for r in rows:  # best round per cell: max samples/s, min peak RSS
    k = (r["impl"], r["threads"])
    if r.get("seqnet_threads", 1) == 1 or r["impl"] != "seqnet":
        nround[k] = nround.get(k, 0) + 1
    if k not in by:
        by[k] = dict(r)
        continue
    b = by[k]
    for f in ("train_sps", "infer_sps"):
        b[f] = max(b[f], r[f])
    b["rss_peak_mib"] = min(b["rss_peak_mib"], r["rss_peak_mib"])
    b["train_step_ms"] = 1e3 * b["batch"] / b["train_sps"]
print()
print("W1 (pooled embedding, batch 64 x 500): samples/s (median; higher is better), peak RSS")
hdr = "%-8s %-7s %12s %12s %12s %12s %10s" % ("threads", "impl", "train sps",
      "train x", "infer sps", "infer x", "peak MiB")
print(hdr)
print("-" * len(hdr))
for n in (1, 2):
    t = by.get(("pytorch", n))
    for impl in ("seqnet", "pytorch"):
        r = by.get((impl, n))
        if not r:
            continue
        tx = r["train_sps"] / t["train_sps"] if t else float("nan")
        ix = r["infer_sps"] / t["infer_sps"] if t else float("nan")
        print("%-8d %-7s %12.0f %11.2fx %12.0f %11.2fx %10.1f" % (
            n, impl, r["train_sps"], tx, r["infer_sps"], ix, r["rss_peak_mib"]))
print()
s = by.get(("seqnet", 1)) or {}
t = by.get(("pytorch", 1)) or {}
if max(nround.values()) > 1:
    print("best of %d rounds per cell" % max(nround.values()))
print("x = ratio to PyTorch at the same thread count (targets: train >= 3x, peak RSS <= 0.25x)")
print("seqnet, 2 threads: the better of OpenBLAS's pool (OPENBLAS_NUM_THREADS=2) and the trainer's")
print("threads (SEQNET_TRAIN_THREADS=2, OPENBLAS_NUM_THREADS=1) in each cell.")
print("PyTorch: --malloc tuned; 1 thread: --threads 1; 2 threads: --threads 2 --blas-threads 1.")
print("OPENBLAS_CORETYPE=%s, OpenBLAS kernel in use: %s; torch %s; PyTorch peak includes %.0f MiB of `import torch`."
      % (s.get("coretype", "?"), s.get("blas_corename", "?"), t.get("torch", "?"),
         t.get("rss_base_mib", float("nan"))))
for n in (1, 2):
    a, b = by.get(("seqnet", n)), by.get(("pytorch", n))
    if a and b:
        print("%d thread(s): train step %.2f ms vs %.2f ms; peak RSS ratio %.2fx"
              % (n, a["train_step_ms"], b["train_step_ms"], a["rss_peak_mib"] / b["rss_peak_mib"]))
EOF
