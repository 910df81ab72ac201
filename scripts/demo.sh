#!/bin/bash
# demo.sh -- from a fresh clone on Debian 12: install the dependencies, build,
# and train real models.
#
#   ./scripts/demo.sh                     the C example and the spam filter
#   ./scripts/demo.sh --imdb [OPTIONS]    also the IMDB sentiment demo in
#                                         Python (OPTIONS go to imdb_demo.py,
#                                         e.g. --epochs 40)
#
# 1. scripts/deps.sh installs the missing Debian packages (apt-get; sudo when
#    not root).
# 2. meson configures and builds $SEQNET_BUILDDIR (default: build/).
# 3. build/examples/train_demo: the C example (docs/GUIDE.md) trains a small
#    model on synthetic data, evaluates it and predicts with a session.
# 4. The spam filter (docs/SPAM.md): scripts/fetch-spam.sh fetches the
#    SpamAssassin corpus (cached in data/spam/, checksummed);
#    examples/spam/spam_train trains the bag-of-words model on the seeded
#    80/20 split, prints its held-out metrics and saves data/spam-bow.seqnet;
#    examples/spam/spam_classify loads it once and classifies a few held-out
#    messages on 2 worker threads, then the whole held-out split, printing
#    throughput and latency.
# 5. With --imdb: scripts/fetch-imdb.sh fetches the IMDB reviews (cached in
#    data/imdb/) and examples/python/imdb_demo.py trains the course's
#    pooled-embedding sentiment model through the Python binding.
set -euo pipefail

if [[ $# -gt 0 && $1 != --imdb ]]; then
    echo "usage: $0 [--imdb [imdb_demo.py options]]" >&2
    exit 2
fi

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

step() { printf '\n==> %s\n' "$*"; }

step "dependencies"
if [[ -x scripts/deps.sh ]]; then
    ./scripts/deps.sh
fi
# The data download needs TLS root certificates (not in a minimal image).
if [[ ! -s /etc/ssl/certs/ca-certificates.crt ]]; then
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends \
        ca-certificates
fi

step "build"
builddir=${SEQNET_BUILDDIR:-build}
if [[ $builddir != /* ]]; then
    builddir=$root/$builddir
fi
if [[ ! -f $builddir/meson-private/coredata.dat ]]; then
    meson setup "$builddir"
fi
meson compile -C "$builddir"

step "C example: $builddir/examples/train_demo"
"$builddir/examples/train_demo"

step "spam filter: fetch the SpamAssassin corpus"
spam_dir=$(./scripts/fetch-spam.sh)
echo "$spam_dir"

step "spam filter: train the bag-of-words model ($builddir/examples/spam/spam_train)"
if [[ ! -x $builddir/examples/spam/spam_train ]]; then
    echo "demo.sh: $builddir/examples/spam was not built (GMime 3.0 missing?)" >&2
    exit 1
fi
"$builddir/examples/spam/spam_train" --model bow --data "$spam_dir" \
    --out "$root/data/spam-bow.seqnet" --dump "$root/data/spam-split"

step "spam filter: classify held-out messages with the saved model"
# The first 4 ham and 4 spam messages of the held-out split, then all of it.
awk -F'\t' -v dir="$spam_dir" '$1 == "test" && n[$2]++ < 4 { print dir "/" $3 }' \
    "$root/data/spam-split/spam.tsv" > "$root/data/spam-split/sample.txt"
awk -F'\t' -v dir="$spam_dir" '$1 == "test" { print dir "/" $3 }' \
    "$root/data/spam-split/spam.tsv" > "$root/data/spam-split/test.txt"
# Worker threads run their own sessions: BLAS gets one thread each (docs/ABI.md).
export OPENBLAS_NUM_THREADS=1
"$builddir/examples/spam/spam_classify" "$root/data/spam-bow.seqnet" --threads 2 \
    < "$root/data/spam-split/sample.txt"
echo "all $(wc -l < "$root/data/spam-split/test.txt") held-out messages:"
"$builddir/examples/spam/spam_classify" "$root/data/spam-bow.seqnet" --threads 2 --quiet \
    < "$root/data/spam-split/test.txt"
unset OPENBLAS_NUM_THREADS

if [[ ${1:-} == --imdb ]]; then
    shift
    step "IMDB sentiment through the Python binding"
    reviews=$(./scripts/fetch-imdb.sh)
    SEQNET_LIBRARY=$builddir/lib/libseqnet.so \
    PYTHONPATH=$root/examples/python \
        /usr/bin/python3 examples/python/imdb_demo.py --data "$reviews" "$@"
fi
