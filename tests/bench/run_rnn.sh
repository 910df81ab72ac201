#!/bin/bash
# run_rnn.sh -- workloads W3 to W6 (the recurrent layers), seqnet and PyTorch
# side by side in one run, with 1 and 2 threads, on the wall clock and on
# CPU time.
#
# Usage: tests/bench/run_rnn.sh [BUILD_DIR]
#   BUILD_DIR  a meson build directory of seqnet (default: build); its target
#              tests/bench/bench_rnn is rebuilt with meson and used.
# Environment:
#   ONLY (W3,W4,W5,W6)  the workloads
#   RUNS (7)        timed runs per measurement (median printed)
#   ROUNDS (1)      repeat the whole comparison, alternating the two sides; each
#                   cell then shows the best round (for busy shared machines)
#   TARGET (0.5)    seconds per timed run
#   CALLS (1000)    W6: single-message calls timed
#   PYTHON (/usr/bin/python3)  Debian's interpreter with python3-torch
#   OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE: left as set, for both sides alike.
#
# Every workload runs in a process of its own on both sides (peak RSS is the
# workload's own). seqnet's bench_rnn measures each timed run on the wall
# clock and on the process's CPU time at once; PyTorch's side is
# torch_ref.py for the wall clock and torch_cpu.py (the same workload code,
# every interval measured by time.process_time) for CPU time. On a machine
# that other processes load, the wall clock counts the time they held the
# cores; CPU time does not, so the CPU-time ratios are the ones to trust
# there.
#
# Threads: with 1 thread seqnet runs on the calling thread (OPENBLAS_NUM_THREADS=1).
# With 2 it is measured in its two settings, and each cell shows the better
# one: OpenBLAS's pool (OPENBLAS_NUM_THREADS=2), and the trainer's own threads
# (SEQNET_TRAIN_THREADS=2 through bench_rnn --threads 2, OpenBLAS on one
# thread), which split each training step's batch. PyTorch gets its best settings from
# ../shared/bench/ANCHORS.md: glibc malloc tuned (torch_ref.py's default),
# 1 thread = --threads 1, 2 threads = --threads 2 --blas-threads 1.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
ONLY=${ONLY:-W3,W4,W5,W6}
RUNS=${RUNS:-7}
TARGET=${TARGET:-0.5}
ROUNDS=${ROUNDS:-1}
CALLS=${CALLS:-1000}
PYTHON=${PYTHON:-/usr/bin/python3}

if [ ! -f "$build/build.ninja" ]; then
    echo "run_rnn.sh: $build is not a meson build directory (meson setup $build)" >&2
    exit 1
fi
meson compile -C "$build" tests/bench/bench_rnn >/dev/null
bench="$build/tests/bench/bench_rnn"

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
round=1
while [ "$round" -le "$ROUNDS" ]; do
    for n in 1 2; do
        if [ "$n" = 1 ]; then targs="--threads 1"; else targs="--threads 2 --blas-threads 1"; fi
        for w in ${ONLY//,/ }; do
            echo "round $round, $w: seqnet, OPENBLAS_NUM_THREADS=$n ..." >&2
            OPENBLAS_NUM_THREADS=$n "$bench" --only "$w" --runs "$RUNS" --target "$TARGET" \
                --latency-calls "$CALLS" >>"$tmp"
            if [ "$n" = 2 ] && [ "$w" != W6 ]; then
                echo "round $round, $w: seqnet, SEQNET_TRAIN_THREADS=2, OPENBLAS_NUM_THREADS=1 ..." >&2
                OPENBLAS_NUM_THREADS=1 "$bench" --only "$w" --runs "$RUNS" --target "$TARGET" \
                    --latency-calls "$CALLS" --threads 2 >>"$tmp"
            fi
            echo "round $round, $w: pytorch, $targs, wall clock ..." >&2
            # shellcheck disable=SC2086
            (cd "$here" && "$PYTHON" torch_ref.py $targs --malloc tuned --only "$w" \
                --runs "$RUNS" --target "$TARGET" --latency-calls "$CALLS") |
                sed 's/^{/{"impl": "pytorch", /' >>"$tmp"
            echo "round $round, $w: pytorch, $targs, CPU time ..." >&2
            # shellcheck disable=SC2086
            (cd "$here" && "$PYTHON" torch_cpu.py $targs --malloc tuned --only "$w" \
                --runs "$RUNS" --target "$TARGET" --latency-calls "$CALLS") |
                sed 's/^{/{"impl": "pytorch", /' >>"$tmp"
        done
    done
    round=$((round + 1))
done

"$PYTHON" - "$tmp" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
# Normalize: one record per (impl, workload, threads) with wall and cpu figures.
by = {}
HIGH = ("train_sps", "infer_sps")          # best round: max
LOW = ("latency_us_median", "latency_us_p10", "latency_us_p90", "rss_peak_mib")
for r in rows:
    k = (r["impl"], r["workload"], r["threads"])
    d = by.setdefault(k, {"rounds": 0})
    if r["impl"] == "seqnet":
        cfg = "trainer" if r.get("seqnet_threads", 1) > 1 else "blas"
        vals = {f: r.get(f) for f in HIGH + LOW}
        if r["threads"] > 1 and r.get("train_sps") is not None:
            # which 2-thread setting gave the best training figure
            if r["train_sps"] > d.get("train_sps", 0):
                vals["train_cfg"] = cfg
        vals.update({"train_sps_cpu": r.get("train_sps_cpu"), "infer_sps_cpu": r.get("infer_sps_cpu"),
                     "latency_cpu_us_median": r.get("latency_cpu_us_median"),
                     "blas_corename": r.get("blas_corename"), "coretype": r.get("coretype")})
    elif r.get("clock") == "cpu":
        vals = {"train_sps_cpu": r.get("train_sps"), "infer_sps_cpu": r.get("infer_sps"),
                "latency_cpu_us_median": r.get("latency_us_median")}
    else:
        d["rounds"] += 1
        vals = {f: r.get(f) for f in HIGH + LOW}
        vals.update({"torch": r.get("torch"), "rss_base_mib": r.get("rss_base_mib")})
    for f, v in vals.items():
        if v is None:
            continue
        if f not in d or d[f] is None:
            d[f] = v
        elif f == "train_cfg":
            d[f] = v
        elif f in HIGH or f in ("train_sps_cpu", "infer_sps_cpu"):
            d[f] = max(d[f], v)
        elif f in LOW or f == "latency_cpu_us_median":
            d[f] = min(d[f], v)

def ratio(a, b):
    return a / b if a and b else float("nan")

wls = []
for k in by:
    if k[1] not in wls:
        wls.append(k[1])
wls.sort()
print()
print("Training and inference throughput, samples/s (median of the runs; x = seqnet / PyTorch)")
hdr = "%-4s %-3s %-8s %10s %10s %7s %10s %10s %7s %10s %10s %7s %10s %10s %7s" % (
    "wl", "thr", "", "train", "wall", "x", "train", "cpu", "x",
    "infer", "wall", "x", "infer", "cpu", "x")
print("%-16s %29s %29s %29s %29s" % ("", "train (wall clock)", "train (CPU time)",
                                      "infer (wall clock)", "infer (CPU time)"))
print("%-4s %-3s %-7s %12s %7s %8s %12s %7s %8s %12s %7s %8s %12s %7s %8s" % (
    "wl", "thr", "impl", "samples/s", "", "x", "samples/s", "", "x", "samples/s", "", "x",
    "samples/s", "", "x"))
for w in wls:
    if w == "W6":
        continue
    for n in (1, 2):
        t = by.get(("pytorch", w, n), {})
        for impl in ("seqnet", "pytorch"):
            r = by.get((impl, w, n))
            if not r:
                continue
            cells = []
            for f in ("train_sps", "train_sps_cpu", "infer_sps", "infer_sps_cpu"):
                cells.append("%12.0f %7s %7.2fx" % (r.get(f) or float("nan"), "",
                                                   ratio(r.get(f), t.get(f))))
            tag = {"trainer": "  (trainer threads)", "blas": "  (OpenBLAS pool)"}.get(
                r.get("train_cfg"), "")
            print("%-4s %-3d %-7s %s%s" % (w, n, impl, " ".join(cells), tag))
if any(k[1] == "W6" for k in by):
    print()
    print("W6: one 200-token message through W3's model, batch 1: latency per call, us "
          "(x = seqnet / PyTorch; lower is better)")
    print("%-4s %-3s %-7s %10s %10s %10s %8s %12s %8s %10s %8s" % (
        "wl", "thr", "impl", "median", "p10", "p90", "x", "CPU median", "x", "peak MiB", "x"))
    for n in (1, 2):
        t = by.get(("pytorch", "W6", n), {})
        for impl in ("seqnet", "pytorch"):
            r = by.get((impl, "W6", n))
            if not r:
                continue
            print("%-4s %-3d %-7s %10.1f %10.1f %10.1f %7.3fx %12.1f %7.3fx %10.1f %7.3fx" % (
                "W6", n, impl, r["latency_us_median"], r["latency_us_p10"],
                r["latency_us_p90"], ratio(r["latency_us_median"], t.get("latency_us_median")),
                r.get("latency_cpu_us_median") or float("nan"),
                ratio(r.get("latency_cpu_us_median"), t.get("latency_cpu_us_median")),
                r["rss_peak_mib"], ratio(r["rss_peak_mib"], t.get("rss_peak_mib"))))
print()
print("Peak RSS, MiB (each workload in its own process):")
for w in wls:
    cells = []
    for n in (1, 2):
        s, t = by.get(("seqnet", w, n), {}), by.get(("pytorch", w, n), {})
        if s and t:
            cells.append("%d thread(s): seqnet %.1f, PyTorch %.1f (%.2fx)" % (
                n, s["rss_peak_mib"], t["rss_peak_mib"], ratio(s["rss_peak_mib"],
                                                               t["rss_peak_mib"])))
    print("  %s: %s" % (w, "; ".join(cells)))
s = next((v for k, v in by.items() if k[0] == "seqnet"), {})
t = next((v for k, v in by.items() if k[0] == "pytorch"), {})
rounds = max(v["rounds"] for v in by.values())
print()
if rounds > 1:
    print("best of %d rounds per cell" % rounds)
print("targets (issue 5): W3 train >= 1.5x, W4 >= 10x, W5 >= 3x; W6 latency <= 0.2x, "
      "peak RSS <= 0.25x")
print("CPU time = user + system time of the whole process (all threads) per timed run: "
      "trust it over the wall clock when the machine is loaded.")
print("seqnet, 2 threads: each cell is the better of its two settings, the trainer's own "
      "threads (SEQNET_TRAIN_THREADS=2, OPENBLAS_NUM_THREADS=1) and OpenBLAS's pool "
      "(OPENBLAS_NUM_THREADS=2); the tag names the one of the training figure. Inference "
      "is never split by the trainer.")
print("PyTorch: --malloc tuned, 1 thread: --threads 1, 2 threads: --threads 2 --blas-threads 1.")
print("OPENBLAS_CORETYPE=%s, OpenBLAS kernel in use: %s; torch %s; PyTorch's peak includes "
      "%.0f MiB of `import torch`." % (s.get("coretype", "?"), s.get("blas_corename", "?"),
                                       t.get("torch", "?"), t.get("rss_base_mib") or float("nan")))
EOF
