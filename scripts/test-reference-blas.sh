#!/bin/bash
# test-reference-blas.sh -- build against the reference (netlib) CBLAS and
# run the whole test suite, in its own build directory.
#
#   ./scripts/test-reference-blas.sh
#
# Environment: SEQNET_BUILDDIR (default: build-refblas).
#
# On Debian, libblas.so.3 (and blas-netlib.pc's -lblas) is an "alternative"
# that points at OpenBLAS whenever OpenBLAS is installed, so a library built
# with -Dblas=reference would silently run on OpenBLAS. The netlib library's
# own directory (from the libblas3 package) is therefore put first on
# LD_LIBRARY_PATH, and the script checks that this is the BLAS loaded and
# that no OpenBLAS is.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=SCRIPTDIR/deps.sh
source "$root/scripts/deps.sh"
seqnet_install_deps

builddir=${SEQNET_BUILDDIR:-build-refblas}
if [[ ! -f $builddir/meson-private/coredata.dat ]]; then
    meson setup "$builddir" -Dblas=reference
else
    meson configure "$builddir" -Dblas=reference
fi
meson compile -C "$builddir"

netlib_so=$(dpkg -L libblas3 | grep -m 1 '/blas/libblas\.so\.3$' || true)
if [[ -z $netlib_so ]]; then
    echo "test-reference-blas.sh: the reference BLAS (libblas3) is not installed" >&2
    exit 1
fi
netlib_dir=$(dirname "$netlib_so")
export LD_LIBRARY_PATH=$netlib_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
loaded=$(ldd "$builddir/lib/libseqnet.so")
echo "test-reference-blas.sh: libseqnet.so loads:"
grep -E 'blas' <<<"$loaded" || true
if ! grep -qF "libblas.so.3 => $netlib_dir/libblas.so.3 " <<<"$loaded" ||
        grep -q 'openblas' <<<"$loaded"; then
    echo "test-reference-blas.sh: the reference BLAS in $netlib_dir is not the one loaded" >&2
    exit 1
fi
meson test -C "$builddir" --print-errorlogs
