#!/bin/bash
# test.sh -- build seqnet and run the whole test suite (the README's test
# command; .ci/run calls it too).
#
#   ./scripts/test.sh                      deps if missing, configure build/
#                                          if needed, build, meson test
#   ./scripts/test.sh -Dwerror=true ...    extra `meson setup` options (applied
#                                          with `meson configure` when build/
#                                          already exists)
#
# Environment: SEQNET_BUILDDIR (default: build), SEQNET_TEST_ARGS (extra
# `meson test` arguments, e.g. "--suite core").
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=SCRIPTDIR/deps.sh
source "$root/scripts/deps.sh"
seqnet_install_deps

builddir=${SEQNET_BUILDDIR:-build}
read -ra test_args <<<"${SEQNET_TEST_ARGS:-}"

if [[ ! -f $builddir/meson-private/coredata.dat ]]; then
    meson setup "$builddir" "$@"
elif [[ $# -gt 0 ]]; then
    meson configure "$builddir" "$@"
fi
meson compile -C "$builddir"
meson test -C "$builddir" --print-errorlogs "${test_args[@]}"
