#!/bin/bash
# deps.sh -- the Debian 12 packages seqnet needs to build and run its tests,
# in one list shared by scripts/test.sh, scripts/demo.sh and .ci/run.
#
#   ./scripts/deps.sh          install whatever is missing (apt-get; sudo
#                              when not root)
#   source scripts/deps.sh     define SEQNET_DEPS and seqnet_install_deps
#
# Not listed on purpose: python3-torch and python3-sklearn (the golden files
# they made are committed, so the tests do not need them) and abigail-tools
# (needed once the first release has an ABI baseline, see docs/ABI.md).

SEQNET_DEPS=(
    build-essential      # cc, c++, make, libc headers
    meson                # >= 0.60; Debian 12 ships 1.0.1
    ninja-build
    pkg-config           # dependency lookup and the seqnet.pc install test
    libopenblas-dev      # CBLAS, preferred
    libblas-dev          # the reference CBLAS (scripts/test-reference-blas.sh)
    libutf8proc-dev      # Unicode tables for the text utilities
    libgmime-3.0-dev     # MIME parsing for the spam filter example (examples/spam)
    check                # the C unit-test framework
    python3              # test scripts, the ctypes binding and its tests
    python3-numpy        # the binding's numpy path is tested when present
    python3-h5py         # the Keras HDF5 converter's test writes and reads HDF5
    valgrind             # the suite under valgrind (.ci/run)
    clang                # libFuzzer targets
    libclang-rt-14-dev   # clang's sanitizer and libFuzzer runtimes
)

# Print the packages of SEQNET_DEPS that are not installed.
seqnet_missing_deps() {
    local pkg status
    for pkg in "${SEQNET_DEPS[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        if [[ $status != "install ok installed" ]]; then
            echo "$pkg"
        fi
    done
}

# Install the missing packages; quick when nothing is missing.
seqnet_install_deps() {
    local missing sudo=()
    mapfile -t missing < <(seqnet_missing_deps)
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi
    if [[ $(id -u) -ne 0 ]]; then
        sudo=(sudo)
    fi
    echo "deps.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    set -euo pipefail
    seqnet_install_deps
fi
