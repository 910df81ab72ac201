#!/bin/bash
# abi-check.sh -- compare the ABI of a freshly built libseqnet.so with the
# committed baseline (abi/libseqnet.abi) using libabigail (Debian:
# abigail-tools), and fail on any change that would break a program built
# against the baseline (docs/ABI.md, "ABI baseline").
#
#   scripts/abi-check.sh [BUILDDIR|LIBRARY]           check (default: build)
#   scripts/abi-check.sh --update [BUILDDIR|LIBRARY]  rewrite the baseline
#
# Options (for tests): --baseline FILE (default abi/libseqnet.abi),
# --headers DIR (default include/seqnet).
#
# Fails (exit 1) on:
#   - a removed or renamed exported function or variable;
#   - a changed function or variable (parameter, return or variable type,
#     including any public type it reaches: a typedef, a callback type);
#   - a changed public type that no function reaches (enum constants
#     renumbered or removed): the headers' types are all part of the ABI;
#   - a function added to a version node that the baseline already has
#     (released nodes are frozen: new functions go into a new node).
# Accepted: functions added in a new version node, enum constants added,
# changes to types that are not in the public headers (all handles are
# opaque).
# Exit 2: the tools are missing or failed.
#
# The baseline is made with the same abidw options, without locations,
# paths or DT_NEEDED entries, so it depends neither on the build directory
# nor on the BLAS chosen nor on line numbers in the headers.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
baseline=$root/abi/libseqnet.abi
headers=$root/include/seqnet
update=0
target=build

while [[ $# -gt 0 ]]; do
    case $1 in
        --update) update=1 ;;
        --baseline) baseline=$2; shift ;;
        --headers) headers=$2; shift ;;
        -h|--help) sed -n '2,30p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) target=$1 ;;
    esac
    shift
done

for tool in abidw abidiff; do
    if ! command -v "$tool" >/dev/null; then
        echo "abi-check: $tool not found (Debian: apt-get install abigail-tools)" >&2
        exit 2
    fi
done

if [[ -d $target ]]; then
    lib=$target/lib/libseqnet.so
else
    lib=$target
fi
if [[ ! -e $lib ]]; then
    echo "abi-check: no library at $lib (build first)" >&2
    exit 2
fi
lib=$(readlink -f "$lib")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

dump() { # dump LIBRARY OUTFILE
    abidw --no-corpus-path --no-comp-dir-path --no-show-locs --no-elf-needed \
        --load-all-types --drop-private-types --headers-dir "$headers" \
        --out-file "$2" "$1"
}

if ! dump "$lib" "$work/current.abi"; then
    echo "abi-check: abidw failed on $lib" >&2
    exit 2
fi

# The names of the types the public headers define (enums, structs with a
# body, typedefs): the types whose removal or change breaks users even when
# no function reaches them.
header_types() { # header_types HEADERS_DIR
    cat "$1"/*.h | tr '\n' ' ' |
        grep -oE '(enum|struct|union) +[A-Za-z_][A-Za-z0-9_]* *\{|\} *[A-Za-z_][A-Za-z0-9_]* *;|\(\* *[A-Za-z_][A-Za-z0-9_]* *\)' |
        grep -oE '[A-Za-z_][A-Za-z0-9_]*' | grep -vxE 'enum|struct|union' | sort -u
}

if [[ $update -eq 1 ]]; then
    mkdir -p "$(dirname "$baseline")"
    cp "$work/current.abi" "$baseline"
    header_types "$headers" >"$baseline.types"
    echo "abi-check: baseline written to $baseline from $lib"
    echo "abi-check: $(grep -c '<elf-symbol ' "$baseline") symbols in nodes" \
        "$(grep '<elf-symbol ' "$baseline" | grep -o " version='[^']*'" | sort -u | tr '\n' ' ')"
    exit 0
fi

if [[ ! -f $baseline ]]; then
    echo "abi-check: no baseline at $baseline (make one with --update)" >&2
    exit 2
fi

public_types=$work/public.types
if [[ -f $baseline.types ]]; then
    cp "$baseline.types" "$public_types"
else
    header_types "$headers" >"$public_types"
fi

status=0
abidiff --non-reachable-types --no-show-locs "$baseline" "$work/current.abi" \
    >"$work/report.txt" 2>&1 || status=$?
if (( status & 3 )); then
    cat "$work/report.txt" >&2
    echo "abi-check: abidiff failed (status $status)" >&2
    exit 2
fi

fail=0
# Whether a type named in the report is one the public headers defined
# when the baseline was made (BASELINE.types, written by --update; without
# it, the current headers).
public_type() { # public_type NAME
    grep -qx "$1" "$public_types"
}
if (( status & 12 )); then
    # Removed or changed functions and variables (and bare ELF symbols).
    while read -r kind removed changed; do
        if [[ $removed != 0 || $changed != 0 ]]; then
            echo "abi-check: INCOMPATIBLE: $kind: $removed removed, $changed changed"
            fail=1
        fi
    done < <(sed -n -E \
        -e 's/^(Functions|Variables) changes summary: ([0-9]+) Removed, ([0-9]+) Changed.*/\1 \2 \3/p' \
        -e 's/^(Function|Variable) symbols changes summary: ([0-9]+) Removed.*/\1_symbols \2 0/p' \
        "$work/report.txt")
    # Types no function reaches: the public headers' types are part of the
    # ABI (enum constants renumbered or removed); the library's internal
    # structs are not, whatever abidw kept of them (abidw's
    # --drop-private-types does not drop every internal type of libseqnet).
    section=
    while IFS= read -r line; do
        case $line in
            *"removed type"*"unreachable"*) section=D ;;
            *"changed type"*"unreachable"*) section=C ;;
            *"added type"*"unreachable"*) section=A ;;
        esac
        if [[ $section == D || $section == C ]] &&
            [[ $line =~ ^\ +\[(D|C)\]\ \'(struct\ |enum\ |union\ |typedef\ )?([A-Za-z_][A-Za-z0-9_]*)\' ]]; then
            name=${BASH_REMATCH[3]}
            if public_type "$name"; then
                echo "abi-check: INCOMPATIBLE: public type $name ${BASH_REMATCH[1]/D/removed}" |
                    sed 's/ C$/ changed/'
                fail=1
            fi
        fi
    done <"$work/report.txt"
    # Added functions must be in a node the baseline does not have.
    mapfile -t frozen < <(grep '<elf-symbol ' "$baseline" | grep -o " version='[^']*'" |
        sed "s/ *version='\(.*\)'/\1/" | sort -u)
    while read -r sym node; do
        for f in "${frozen[@]}"; do
            if [[ $node == "$f" ]]; then
                echo "abi-check: $sym was added to $node, a node of the baseline" \
                    "(released nodes are frozen; use a new node, see docs/ABI.md)"
                fail=1
            fi
        done
    done < <(grep -E "^ *\[A\]" "$work/report.txt" |
        sed -n -E 's/.*\{([A-Za-z0-9_]+)@@?([A-Za-z0-9_.]+)\}.*/\1 \2/p')
fi

if [[ $fail -ne 0 ]]; then
    echo "---- abidiff report (baseline $baseline vs $lib) ----"
    cat "$work/report.txt"
    echo "abi-check: FAILED: the ABI changed incompatibly. Either restore it, or bump the"
    echo "soname (seqnet_soversion in meson.build) and commit a new baseline with"
    echo "scripts/abi-check.sh --update (docs/ABI.md)."
    exit 1
fi
if (( status & 4 )); then
    echo "abi-check: compatible additions:"
    cat "$work/report.txt"
fi
echo "abi-check: OK: $lib is compatible with $baseline"
