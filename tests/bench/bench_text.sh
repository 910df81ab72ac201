#!/bin/sh
# tests/bench/bench_text.sh -- the text room against scikit-learn (and the
# Keras tokenizer algorithm) on the 50,000 IMDB reviews, in one run.
#
#   tests/bench/bench_text.sh [BUILD_DIR]     (default: build)
#
# Fetches the data (scripts/fetch-imdb.sh), converts it once to a
# length-prefixed corpus file, then runs each phase in its own process so
# that the peak RSS printed belongs to that phase alone. Single thread.
# Ends with a table of wall and CPU-time ratios (BENCH_TEXT_PHASES="count"
# runs a subset; ROUNDS=N runs each phase N times on both sides, alternating,
# and the table shows each side's best round).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
PY=/usr/bin/python3
"$ROOT/scripts/fetch-imdb.sh" >/dev/null
CORPUS="$ROOT/data/imdb/reviews.bin"
if [ ! -f "$CORPUS" ]; then
    "$PY" - "$ROOT/data/imdb/reviews.json" "$CORPUS" <<'PYEOF'
import json, struct, sys
reviews = json.load(open(sys.argv[1], encoding="utf-8"))
with open(sys.argv[2], "wb") as f:
    f.write(struct.pack("<I", len(reviews)))
    for r in reviews:
        b = r["t"].encode("utf-8")
        f.write(struct.pack("<I", len(b)))
        f.write(b)
PYEOF
fi
BIN="$BUILD/tests/bench/bench_text"
cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I"$ROOT/include" "$ROOT/tests/bench/bench_text.c" \
   -L"$BUILD/lib" -Wl,-rpath,"$BUILD/lib" -lseqnet -o "$BIN"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
PHASES=${BENCH_TEXT_PHASES:-tokenizer count tfidf hashing}
ROUNDS=${ROUNDS:-1}
for phase in $PHASES; do
    r=0
    while [ "$r" -lt "$ROUNDS" ]; do
        "$BIN" "$phase" "$CORPUS" | tee -a "$OUT"
        "$PY" "$ROOT/tests/bench/bench_text_ref.py" "$phase" "$CORPUS" | tee -a "$OUT"
        r=$((r + 1))
    done
done
# Side by side: throughput by wall clock and by CPU time (user + sys of the
# phase; the fair clock when the machine is shared), and peak RSS.
"$PY" - "$OUT" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]


def best(side):
    # per phase, the best of the rounds: least wall time and least CPU time
    # (each kept on its own), largest peak RSS
    out = {}
    for r in side:
        b = out.setdefault(r["phase"], dict(r))
        for t, rate in (("seconds", "mb_per_s"), ("cpu_seconds", "cpu_mb_per_s")):
            if r[t] < b[t]:
                b[t], b[rate] = r[t], r[rate]
        b["peak_rss_mb"] = max(b["peak_rss_mb"], r["peak_rss_mb"])
    return out


ours = best(r for r in rows if r["impl"] == "seqnet")
refs = best(r for r in rows if r["impl"] != "seqnet")
print("%-10s %12s %12s %8s %12s %12s %8s %10s %10s" % (
    "phase", "wall MB/s", "ref", "ratio", "CPU MB/s", "ref", "ratio", "RSS MB", "ref"))
for ph, a in ours.items():
    b = refs.get(ph)
    if b is None:
        continue
    print("%-10s %12.1f %12.1f %7.1fx %12.1f %12.1f %7.1fx %10.1f %10.1f" % (
        ph, a["mb_per_s"], b["mb_per_s"], b["seconds"] / a["seconds"],
        a["cpu_mb_per_s"], b["cpu_mb_per_s"], b["cpu_seconds"] / a["cpu_seconds"],
        a["peak_rss_mb"], b["peak_rss_mb"]))
PYEOF
