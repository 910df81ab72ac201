#!/bin/bash
# abi_check_selftest.sh -- proves that scripts/abi-check.sh fails on the
# changes docs/ABI.md calls incompatible and accepts the compatible ones,
# on a small synthetic library built in a scratch directory (each variant
# compiles in milliseconds, unlike libseqnet).
#
#   tests/reliability/abi_check_selftest.sh     exit 0: every verdict right
#                                               exit 77: abigail-tools missing
# ABI_SELFTEST_VERBOSE=1 prints every report.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
check=$root/scripts/abi-check.sh
cc=${CC:-cc}
if ! command -v abidw >/dev/null || ! command -v abidiff >/dev/null; then
    echo "abi_check_selftest: SKIP: abigail-tools not installed"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The baseline library, in pieces that the variants edit with sed.
base_header='#include <stdint.h>
typedef struct ab_handle ab_handle;
typedef int (*ab_cb)(void *user, int code);
enum ab_status { AB_OK = 0, AB_EFAIL = -1, AB_ENOMEM = -2 };
enum ab_kind { AB_KIND_ONE = 1, AB_KIND_TWO = 2 };
int ab_new(ab_handle **out);
void ab_free(ab_handle *h);
int ab_set(ab_handle *h, int kind, int64_t value);
int ab_call(ab_handle *h, ab_cb cb, void *user);
/*EXTRA_DECL*/'
base_source='#include <stdlib.h>
#include "ab.h"
struct ab_handle { int64_t value; int kind; };
enum ab_private { AB_P_ONE = 1, AB_P_TWO = 2 };
int ab_private_use(enum ab_private p);
int ab_private_use(enum ab_private p) { return (int)p; }
int ab_new(ab_handle **out) { enum ab_status st = AB_OK; *out = calloc(1, sizeof **out);
    if (*out == NULL) st = AB_ENOMEM; return st; }
void ab_free(ab_handle *h) { free(h); }
int ab_set(ab_handle *h, int kind, int64_t value) { enum ab_kind k = (enum ab_kind)kind;
    if (k != AB_KIND_ONE && k != AB_KIND_TWO) return AB_EFAIL; h->kind = kind;
    h->value = value; return AB_OK; }
int ab_call(ab_handle *h, ab_cb cb, void *user) { return cb(user, h->kind); }
/*EXTRA_DEF*/'
base_map='AB_0.1 {
global:
    ab_new; ab_free; ab_set; ab_call;
local:
    *;
};
/*EXTRA_NODE*/'

build() { # build NAME SED_HEADER SED_SOURCE SED_MAP
    local dir=$work/$1
    mkdir -p "$dir/include"
    printf '%s\n' "$base_header" | sed -e "$2" >"$dir/include/ab.h"
    printf '%s\n' "$base_source" | sed -e "$3" >"$dir/ab.c"
    printf '%s\n' "$base_map" | sed -e "$4" >"$dir/ab.map"
    "$cc" -g -O0 -shared -fPIC -I"$dir/include" -Wl,--version-script="$dir/ab.map" \
        -Wl,-soname,libab.so.0 -o "$dir/libab.so" "$dir/ab.c"
}

failures=0
verdict() { # verdict NAME EXPECTED_EXIT
    local status=0
    "$check" --baseline "$work/base.abi" --headers "$work/$1/include" "$work/$1/libab.so" \
        >"$work/$1.log" 2>&1 || status=$?
    if [[ $status -eq $2 ]]; then
        printf 'ok    %-24s exit %d\n' "$1" "$status"
        if [[ -n ${ABI_SELFTEST_VERBOSE:-} ]]; then
            sed 's/^/      /' "$work/$1.log"
        fi
    else
        printf 'WRONG %-24s exit %d, expected %d\n' "$1" "$status" "$2"
        sed 's/^/      /' "$work/$1.log"
        failures=$((failures + 1))
    fi
}

nop='s/^$//'
build base "$nop" "$nop" "$nop"
"$check" --update --baseline "$work/base.abi" --headers "$work/base/include" \
    "$work/base/libab.so" >/dev/null

# Compatible: exit 0.
build same "$nop" "$nop" "$nop"
verdict same 0
build function_in_new_node 's|/\*EXTRA_DECL\*/|int ab_extra(void);|' \
    's|/\*EXTRA_DEF\*/|int ab_extra(void) { return 7; }|' \
    's|/\*EXTRA_NODE\*/|AB_0.2 { global: ab_extra; } AB_0.1;|'
verdict function_in_new_node 0
build enum_constant_added 's/AB_KIND_TWO = 2 }/AB_KIND_TWO = 2, AB_KIND_THREE = 3 }/' \
    "$nop" "$nop"
verdict enum_constant_added 0
build private_struct_changed "$nop" \
    's/struct ab_handle { int64_t value; int kind; }/struct ab_handle { double x; int kind; int64_t value; }/' \
    "$nop"
verdict private_struct_changed 0
build private_enum_changed "$nop" 's/AB_P_TWO = 2/AB_P_TWO = 5, AB_P_THREE = 3/' "$nop"
verdict private_enum_changed 0
build private_struct_removed "$nop" \
    's|/\*EXTRA_DEF\*/|struct ab_scratch { int a, b; }; int ab_scratch_sum(struct ab_scratch *s); int ab_scratch_sum(struct ab_scratch *s) { return s->a + s->b; }|' \
    "$nop"
"$check" --update --baseline "$work/with_private.abi" --headers "$work/private_struct_removed/include" \
    "$work/private_struct_removed/libab.so" >/dev/null

# Incompatible: exit 1.
build function_in_frozen_node 's|/\*EXTRA_DECL\*/|int ab_extra(void);|' \
    's|/\*EXTRA_DEF\*/|int ab_extra(void) { return 7; }|' 's/ab_call;/ab_call; ab_extra;/'
verdict function_in_frozen_node 1
build function_removed 's/^int ab_call.*$//' 's/^int ab_call.*$//' 's/ ab_call;//'
verdict function_removed 1
build parameter_type_changed 's/int64_t value);/int32_t value);/' \
    's/int kind, int64_t value) {/int kind, int32_t value) {/' "$nop"
verdict parameter_type_changed 1
build return_type_changed 's/^int ab_set(/int64_t ab_set(/' 's/^int ab_set(/int64_t ab_set(/' "$nop"
verdict return_type_changed 1
build callback_type_changed 's/(\*ab_cb)(void \*user, int code)/(*ab_cb)(void *user, int code, int more)/' \
    's/return cb(user, h->kind);/return cb(user, h->kind, 0);/' "$nop"
verdict callback_type_changed 1
build enum_renumbered 's/AB_ENOMEM = -2/AB_ENOMEM = -3/' "$nop" "$nop"
verdict enum_renumbered 1
build enum_constant_removed 's/, AB_KIND_TWO = 2 }/ }/' 's/ \&\& k != AB_KIND_TWO//' "$nop"
verdict enum_constant_removed 1

# Against a baseline that has an internal struct: the struct removed (an
# internal refactor) is compatible, a public enum removed is not.
verdict_vs() { # verdict_vs BASELINE NAME EXPECTED_EXIT
    local status=0
    "$check" --baseline "$1" --headers "$work/$2/include" "$work/$2/libab.so" \
        >"$work/$2.log" 2>&1 || status=$?
    if [[ $status -eq $3 ]]; then
        printf 'ok    %-24s exit %d\n' "$2" "$status"
    else
        printf 'WRONG %-24s exit %d, expected %d\n' "$2" "$status" "$3"
        sed 's/^/      /' "$work/$2.log"
        failures=$((failures + 1))
    fi
}
verdict_vs "$work/with_private.abi" same 0
build public_enum_removed 's/^enum ab_kind.*$//' \
    's/enum ab_kind k = (enum ab_kind)kind;/int k = kind;/; s/AB_KIND_ONE/1/; s/AB_KIND_TWO/2/' "$nop"
verdict public_enum_removed 1

if [[ $failures -ne 0 ]]; then
    echo "abi_check_selftest: $failures wrong verdicts"
    exit 1
fi
echo "abi_check_selftest: all verdicts right"
