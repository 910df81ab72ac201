#!/bin/sh
# tests/bench/bench_text.sh -- the text room against scikit-learn (and the
# Keras tokenizer algorithm) on the 50,000 IMDB reviews, in one run.
#
#   tests/bench/bench_text.sh [BUILD_DIR]     (default: build)
#
# Fetches the data (scripts/fetch-imdb.sh), converts it once to a
# length-prefixed corpus file, then runs each phase in its own process so
# that the peak RSS printed belongs to that phase alone. Single thread.
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
for phase in tokenizer count tfidf hashing; do
    "$BIN" "$phase" "$CORPUS"
    "$PY" "$ROOT/tests/bench/bench_text_ref.py" "$phase" "$CORPUS"
done
