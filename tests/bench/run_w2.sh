#!/bin/bash
# run_w2.sh -- workload W2 (the course's inception model), seqnet and PyTorch
# side by side in one run, with 1 and 2 threads, timed by the wall clock and
# by CPU time.
#
# Usage: tests/bench/run_w2.sh [BUILD_DIR]
#   BUILD_DIR  a meson build directory of seqnet (default: build). When it
#              holds tests/bench/bench_w2, that program is rebuilt with meson
#              and used. Otherwise the library and the bench are compiled
#              directly with gcc into $W2_BUILD (default /tmp/seqnet-bench-w2),
#              -O3, OpenBLAS.
# Environment:
#   RUNS (7)        timed runs per measurement (median printed)
#   ROUNDS (1)      repeat the whole comparison, alternating the sides; each
#                   cell then shows the best round (for busy shared machines)
#   TARGET (0.5)    seconds per timed run (wall clock)
#   PYTHON (/usr/bin/python3)  Debian's interpreter with python3-torch
#   OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE: left as set, for both sides alike.
#
# PyTorch runs W2 (Conv1d on the transposed embedding, as the course wrote
# it) and W2c (the same with .contiguous() after the transpose), each twice:
# torch_ref.py timed by the wall clock, torch_cpu.py (the same workload code)
# timed by process CPU time. bench_w2 measures both clocks in one run.
# CPU time is user + system of the whole process, all threads: on a loaded
# machine it leaves out the time other processes held the cores, which the
# wall clock counts; it still includes spinning thread pools and the cache
# misses that sharing causes.
#
# Threads: with 1 thread seqnet runs on the calling thread; with 2 it is
# measured with OpenBLAS's pool (OPENBLAS_NUM_THREADS=2) and with the
# trainer's own threads (--threads 2, SEQNET_TRAIN_THREADS; OpenBLAS on one
# thread), and each cell shows the better. PyTorch gets its best settings from
# ../shared/bench/ANCHORS.md: glibc malloc tuned, 1 thread = --threads 1,
# 2 threads = --threads 2 --blas-threads 1 (its convolutions run in oneDNN
# on the OpenMP pool).
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
if [ -f "$build/build.ninja" ] && grep -q 'tests/bench/bench_w2' "$build/build.ninja"; then
    meson compile -C "$build" tests/bench/bench_w2 >/dev/null
    bench="$build/tests/bench/bench_w2"
else
    out=${W2_BUILD:-/tmp/seqnet-bench-w2}
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
        gcc -std=c11 -O3 -g -fPIC -fno-math-errno -D_POSIX_C_SOURCE=200809L -DSEQNET_BUILDING \
            -I"$root/include" -I"$root/lib" $blas_cflags -pthread -shared -o "$lib" $srcs $blas_libs -lm
    fi
    bench="$out/bench_w2"
    if [ ! -f "$bench" ] || [ "$lib" -nt "$bench" ] || [ "$here/bench_w2.c" -nt "$bench" ]; then
        gcc -std=c11 -O2 -g -Wall -Wextra -pedantic -D_POSIX_C_SOURCE=200809L \
            -I"$root/include" -o "$bench" "$here/bench_w2.c" -L"$out" -lseqnet -lm \
            -Wl,-rpath,"$out"
    fi
fi

# ---- run -------------------------------------------------------------------
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
echo "W2: Embedding(62297,30) -> 3 x Conv1D(50, k 3/5/7, same, relu) -> GAP -> Concatenate" >&2
echo "    -> Dropout(0.3) -> Dense(50,relu) -> Dropout(0.3) -> Dense(1,sigmoid); batch 64 x 500" >&2
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
        for wl in W2 W2c; do
            echo "round $round: pytorch $wl, $targs, wall clock ..." >&2
            # shellcheck disable=SC2086
            (cd "$here" && "$PYTHON" torch_ref.py $targs --malloc tuned --only $wl \
                --runs "$RUNS" --target "$TARGET") |
                sed 's/^{/{"impl": "pytorch", "clock": "wall", /' >>"$tmp"
            echo "round $round: pytorch $wl, $targs, CPU time ..." >&2
            # shellcheck disable=SC2086
            (cd "$here" && "$PYTHON" torch_cpu.py $targs --malloc tuned --only $wl \
                --runs "$RUNS" --target "$TARGET") | sed 's/^{/{"impl": "pytorch", /' >>"$tmp"
        done
    done
    round=$((round + 1))
done

"$PYTHON" - "$tmp" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
cells, nround = {}, {}
def best(key, r, fields):
    nround[key] = nround.get(key, 0) + 1
    c = cells.setdefault(key, {})
    for f in fields:
        if f in r:
            c[f] = max(c.get(f, 0.0), r[f])
    c["rss"] = min(c.get("rss", 1e18), r["rss_peak_mib"])
    for f in ("torch", "coretype", "blas_corename"):
        if f in r:
            c[f] = r[f]
for r in rows:
    n = r["threads"]
    if r["impl"] == "seqnet":
        best(("seqnet", n), r, ("train_sps", "infer_sps", "train_cpu_sps", "infer_cpu_sps"))
    elif r.get("clock") == "cpu":
        c = dict(r, train_cpu_sps=r["train_sps"], infer_cpu_sps=r["infer_sps"])
        del c["train_sps"], c["infer_sps"]
        best(("pytorch " + r["workload"], n), c, ("train_cpu_sps", "infer_cpu_sps"))
    else:
        best(("pytorch " + r["workload"], n), r, ("train_sps", "infer_sps"))

B = 64
def ms(sps):
    return 1e3 * B / sps if sps else float("nan")
print()
print("W2 (inception, batch 64 x 500): samples/s by the wall clock (median of runs; best round),")
print("CPU milliseconds per 64-sample step (all threads, user+sys); x = seqnet / best PyTorch variant")
hdr = "%-4s %-12s %10s %7s %10s %7s %10s %7s %10s %7s %8s" % (
    "thr", "impl", "train sps", "x", "train cpu", "x", "infer sps", "x", "infer cpu", "x", "peak MiB")
print(hdr)
print("-" * len(hdr))
for n in (1, 2):
    torch = [cells[k] for k in (("pytorch W2", n), ("pytorch W2c", n)) if k in cells]
    tb = {f: max([t.get(f, 0.0) for t in torch] or [0.0])
          for f in ("train_sps", "infer_sps", "train_cpu_sps", "infer_cpu_sps")}
    for name in ("seqnet", "pytorch W2", "pytorch W2c"):
        c = cells.get((name, n))
        if not c:
            continue
        def ratio(f):
            if name != "seqnet" or not tb[f] or not c.get(f):
                return "%7s" % ""
            return "%6.2fx" % (c[f] / tb[f])
        print("%-4d %-12s %10.0f %s %8.1fms %s %10.0f %s %8.1fms %s %8.1f" % (
            n, name, c.get("train_sps", 0), ratio("train_sps"), ms(c.get("train_cpu_sps")),
            ratio("train_cpu_sps"), c.get("infer_sps", 0), ratio("infer_sps"),
            ms(c.get("infer_cpu_sps")), ratio("infer_cpu_sps"), c["rss"]))
print()
rounds = nround.get(("seqnet", 1), 1)
if rounds > 1:
    print("best of %d rounds per cell" % rounds)
s = cells.get(("seqnet", 1), {})
t = cells.get(("pytorch W2", 1), {})
print("target: train >= 2x PyTorch at the same thread count. seqnet, 2 threads: the better of")
print("OpenBLAS's pool (OPENBLAS_NUM_THREADS=2) and the trainer's threads (SEQNET_TRAIN_THREADS=2,")
print("OPENBLAS_NUM_THREADS=1) in each cell; inference is never split by the trainer.")
print("PyTorch: --malloc tuned; 1 thread: --threads 1; 2 threads: --threads 2 --blas-threads 1.")
print("OPENBLAS_CORETYPE=%s, OpenBLAS kernel in use: %s; torch %s."
      % (s.get("coretype", "?"), s.get("blas_corename", "?"), t.get("torch", "?")))
EOF
