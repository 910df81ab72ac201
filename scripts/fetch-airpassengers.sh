#!/bin/bash
# fetch-airpassengers.sh -- fetch the AirPassengers series (monthly
# international airline passengers, thousands, January 1949 - December 1960;
# Box and Jenkins' "Series G") into data/airpassengers/ and check it.
#
#   ./scripts/fetch-airpassengers.sh [DIR]    default DIR: data/airpassengers (git-ignored)
#
# Source: Debian's gretl-data package (GPL-3+ data collection of the gretl
# econometrics program), file usr/share/gretl/data/misc/bjg.gdt, plain XML.
# The .deb is fetched with `apt-get download` and unpacked with dpkg-deb
# (nothing is installed); the package version is whatever the archive
# serves, so the check is on the extracted numbers, not on the .deb.
# Result: DIR/airpassengers.csv, a header line "month,passengers" then 144
# lines "1949-01,112" ... "1960-12,432" (the values sum to 40,363), read by
# examples/depth_demo.c and examples/python/timeseries.py. Safe to run twice:
# a checked copy is kept and not fetched again. Prints the path of the file.
set -euo pipefail

csv_sha256=d27dd74f3654ab4c688afccf2348870410902f480cea900d872be2ae33184411
n_values=144
sum_values=40363

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest=${1:-$root/data/airpassengers}
out=$dest/airpassengers.csv

check() {
    local f=$1
    [[ -f $f ]] || return 1
    echo "$csv_sha256  $f" | sha256sum --check --status || return 1
    [[ $(wc -l <"$f") -eq $((n_values + 1)) ]] || return 1
    [[ $(awk -F, 'NR > 1 { s += $2 } END { print s }' "$f") -eq $sum_values ]]
}

if check "$out"; then
    echo "$out"
    exit 0
fi

for tool in apt-get dpkg-deb; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "fetch-airpassengers.sh: needs $tool (Debian or a derivative)" >&2
        exit 1
    fi
done

mkdir -p "$dest"
tmp=$(mktemp -d "$dest/.fetch.XXXXXX")
# apt-get download as root writes as the _apt user when it can: let it.
chmod 0755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

echo "fetch-airpassengers.sh: downloading Debian's gretl-data (about 2 MB)" >&2
if ! (cd "$tmp" && apt-get download gretl-data >/dev/null 2>"$tmp/apt.log"); then
    cat "$tmp/apt.log" >&2
    echo "fetch-airpassengers.sh: apt-get download gretl-data failed (try apt-get update)" >&2
    exit 1
fi
deb=$(ls "$tmp"/gretl-data_*.deb)
dpkg-deb -x "$deb" "$tmp/pkg"
gdt=$tmp/pkg/usr/share/gretl/data/misc/bjg.gdt
if [[ ! -f $gdt ]]; then
    echo "fetch-airpassengers.sh: $(basename "$deb") has no bjg.gdt" >&2
    exit 1
fi
# Each <obs> holds the count and its logarithm: keep the count, label the
# months from the file's startobs (1949:01).
{
    echo "month,passengers"
    grep -o '<obs>[0-9]*' "$gdt" | cut -c6- |
        awk '{ i = NR - 1; printf "%d-%02d,%s\n", 1949 + int(i / 12), i % 12 + 1, $1 }'
} >"$tmp/airpassengers.csv"
if ! grep -q 'startobs="1949:01"' "$gdt" || ! check "$tmp/airpassengers.csv"; then
    echo "fetch-airpassengers.sh: the series in $(basename "$deb") is not the expected one" \
        "($n_values months from 1949-01 summing to $sum_values, SHA-256 $csv_sha256)" >&2
    exit 1
fi
mv "$tmp/airpassengers.csv" "$out"
chmod 0644 "$out"
echo "$out"
