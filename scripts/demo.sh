#!/bin/bash
# demo.sh -- from a fresh clone on Debian 12: install the dependencies, build,
# and train real models.
#
#   ./scripts/demo.sh [imdb_demo.py options, e.g. --epochs 40]
#
# 1. scripts/deps.sh installs the missing Debian packages (apt-get; sudo when
#    not root).
# 2. meson configures and builds $SEQNET_BUILDDIR (default: build/).
# 3. build/examples/train_demo: the C example (docs/GUIDE.md) trains a small
#    model on synthetic data, evaluates it and predicts with a session.
# 4. scripts/fetch-imdb.sh fetches the IMDB reviews (cached in data/imdb/,
#    checksummed) and examples/python/imdb_demo.py trains the course's
#    pooled-embedding sentiment model through the Python binding and prints
#    its test accuracy. Arguments of demo.sh are passed to imdb_demo.py.
set -euo pipefail

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

step "IMDB sentiment through the Python binding"
reviews=$(./scripts/fetch-imdb.sh)
SEQNET_LIBRARY=$builddir/lib/libseqnet.so \
PYTHONPATH=$root/examples/python \
    /usr/bin/python3 examples/python/imdb_demo.py --data "$reviews" "$@"
