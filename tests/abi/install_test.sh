#!/bin/bash
# install_test.sh -- install the build into a scratch DESTDIR and use it the
# way a user would: through pkg-config only.
#
# Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
#
# Usage: install_test.sh BUILD_ROOT SOURCE_ROOT SANITIZE -- CC [CC_ARGS...]
#   SANITIZE is meson's b_sanitize value ("none", "address,undefined", ...):
#   a sanitized libseqnet needs the consumer built with the same runtime.
# Tools come from the environment (MESON, PKG_CONFIG, READELF, NM), else PATH.
#
# Checks (each printed as "ok" or "FAIL"):
#   - `meson install --destdir` succeeds; every public header is installed
#     under include/seqnet/; seqnet.pc, libseqnet.so, .so.0, .so.X.Y.Z and
#     libseqnet.a are installed, the .so names being symlinks to the last;
#   - the soname is libseqnet.so.0 and no internal symbol (sn_*) is exported;
#   - `pkg-config --cflags --libs seqnet` gives the include dir and -lseqnet
#     and nothing private; `--static` adds libm and a BLAS;
#   - tests/abi/pkgconfig_consumer.c builds with only those flags, records
#     libseqnet.so.0 as NEEDED, loads the installed library and passes;
#   - the same program links statically against libseqnet.a with
#     `pkg-config --static --libs` and passes.
set -euo pipefail

if [[ $# -lt 5 || $4 != "--" ]]; then
    echo "usage: $0 BUILD_ROOT SOURCE_ROOT SANITIZE -- CC [CC_ARGS...]" >&2
    exit 2
fi
build_root=$1
source_root=$2
sanitize=$3
shift 4
cc=("$@")

meson=${MESON:-meson}
pkg_config=${PKG_CONFIG:-pkg-config}
readelf=${READELF:-readelf}
nm=${NM:-nm}

cc_flags=(-Wall -Wextra -Werror)
if [[ $sanitize != none && -n $sanitize ]]; then
    cc_flags+=("-fsanitize=$sanitize")
fi

failures=0
checks=0
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    checks=$((checks + 1))
    if "$@"; then
        echo "ok   $what"
    else
        echo "FAIL $what"
        failures=$((failures + 1))
    fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seqnet-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
destdir=$tmp/root

if ! "$meson" install -C "$build_root" --no-rebuild --destdir "$destdir" \
        >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    echo "FAIL meson install --destdir"
    exit 1
fi
echo "ok   meson install --destdir"

pc_file=$(find "$destdir" -name seqnet.pc -path '*/pkgconfig/*' | head -n 1)
if [[ -z $pc_file ]]; then
    echo "FAIL seqnet.pc is installed"
    exit 1
fi
echo "ok   seqnet.pc is installed (${pc_file#"$destdir"})"
prefix=$(sed -n 's/^prefix=//p' "$pc_file")
version=$(sed -n 's/^Version: *//p' "$pc_file")
libdir=$(dirname "$(dirname "$pc_file")")
incdir=$destdir$prefix/include

# The installed tree, relocated: only seqnet.pc's prefix changes, so the test
# also proves that every path in seqnet.pc derives from ${prefix}.
mkdir -p "$tmp/pc"
sed "s|^prefix=.*|prefix=$destdir$prefix|" "$pc_file" >"$tmp/pc/seqnet.pc"
export PKG_CONFIG_PATH=$tmp/pc${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}

headers_installed() {
    local header missing=0
    for header in "$source_root"/include/seqnet/*.h; do
        if [[ ! -f $incdir/seqnet/$(basename "$header") ]]; then
            echo "     not installed: seqnet/$(basename "$header")"
            missing=1
        fi
    done
    return "$missing"
}
check "every public header is installed in include/seqnet/" headers_installed

lib_files_installed() {
    [[ -f $libdir/libseqnet.so.$version && ! -L $libdir/libseqnet.so.$version ]] &&
        [[ -L $libdir/libseqnet.so.0 && -L $libdir/libseqnet.so ]] &&
        [[ $(readlink -f "$libdir/libseqnet.so") == "$(readlink -f "$libdir/libseqnet.so.$version")" ]] &&
        [[ -f $libdir/libseqnet.a ]]
}
check "libseqnet.so -> libseqnet.so.0 -> libseqnet.so.$version and libseqnet.a installed" \
    lib_files_installed

# Tool output is captured before it is searched: `tool | grep -q` under
# pipefail can fail when grep stops reading early.
soname_is_0() {
    local dynamic
    dynamic=$("$readelf" -d "$libdir/libseqnet.so.$version") || return 1
    grep -q 'Library soname: \[libseqnet\.so\.0\]' <<<"$dynamic"
}
check "soname is libseqnet.so.0" soname_is_0

no_internal_exports() {
    local symbols leaked
    symbols=$("$nm" -D --defined-only "$libdir/libseqnet.so.$version") || return 1
    leaked=$(awk '$2 != "A" && $3 !~ /^seqnet_/ { print $3 }' <<<"$symbols")
    if [[ -n $leaked ]]; then
        echo "     exported: $leaked"
        return 1
    fi
    grep -q ' seqnet_version_number' <<<"$symbols" && ! grep -q ' sn_malloc' <<<"$symbols"
}
check "only seqnet_* exported (sn_malloc and other internals hidden)" no_internal_exports

cflags=$("$pkg_config" --cflags seqnet)
libs=$("$pkg_config" --libs seqnet)
static_libs=$("$pkg_config" --static --libs seqnet)
echo "     pkg-config --cflags --libs seqnet: $cflags $libs"
echo "     pkg-config --static --libs seqnet: $static_libs"

pc_flags_right() {
    [[ " $cflags " == *" -I$incdir "* ]] &&
        [[ " $libs " == *" -L$libdir "* && " $libs " == *" -lseqnet "* ]] &&
        [[ " $libs " != *blas* && " $libs " != *" -lm "* && " $libs " != *utf8proc* ]]
}
check "pkg-config gives -I<include> -L<libdir> -lseqnet and no private libraries" pc_flags_right

static_flags_right() {
    [[ " $static_libs " == *" -lm "* && " $static_libs " == *blas* && \
        " $static_libs " == *" -lutf8proc "* ]]
}
check "pkg-config --static adds libm, BLAS and utf8proc" static_flags_right

consumer=$source_root/tests/abi/pkgconfig_consumer.c
build_shared() {
    # shellcheck disable=SC2086 # pkg-config output is a list of words
    "${cc[@]}" "${cc_flags[@]}" "$consumer" -o "$tmp/consumer" $cflags $libs
}
check "pkgconfig_consumer.c builds with pkg-config --cflags --libs seqnet" build_shared

needs_soname() {
    local dynamic
    dynamic=$("$readelf" -d "$tmp/consumer") || return 1
    grep -q 'Shared library: \[libseqnet\.so\.0\]' <<<"$dynamic"
}
check "the program records NEEDED libseqnet.so.0" needs_soname

loads_installed() {
    local resolved
    resolved=$(LD_LIBRARY_PATH=$libdir ldd "$tmp/consumer") || return 1
    grep -qF "libseqnet.so.0 => $libdir/libseqnet.so.0 " <<<"$resolved"
}
check "the program loads the installed libseqnet.so.0" loads_installed

check "the program runs against the installed library" \
    env LD_LIBRARY_PATH="$libdir" "$tmp/consumer"

build_static() {
    # Link libseqnet.a itself (not the .so) plus everything --static lists.
    local private
    private=" $static_libs "
    private=${private// -lseqnet / }
    # shellcheck disable=SC2086 # pkg-config output is a list of words
    "${cc[@]}" "${cc_flags[@]}" "$consumer" -o "$tmp/consumer_static" $cflags \
        "$libdir/libseqnet.a" $private
}
check "pkgconfig_consumer.c links libseqnet.a with pkg-config --static --libs" build_static
check "the statically linked program runs" "$tmp/consumer_static"

echo "install test: $((checks + 1 - failures)) checks ok, $failures failed"
[[ $failures -eq 0 ]]
