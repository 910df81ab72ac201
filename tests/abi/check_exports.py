#!/usr/bin/python3
"""The exported symbols of libseqnet.so, the version script and the public
headers must agree.

Checks, each reported by name:
  prefix      every exported symbol starts with seqnet_ (no sn_* internal,
              no libc or BLAS symbol re-exported)
  functions   every exported symbol is a function (no exported variables:
              their size is part of the ABI)
  in-map      every exported symbol is listed in lib/libseqnet.map
  declared    every exported symbol is declared with SEQNET_API in a public
              header
  node        every exported symbol carries the version node the map puts it
              in (seqnet_x@@SEQNET_0.1)
  missing     every header-declared function is exported
  stale-map   every symbol in the map is declared in a header

The header parser here is deliberately independent of scripts/gen-map.py,
so that a bug in the generator cannot hide itself.

Usage: check_exports.py --nm NM --lib libseqnet.so --map libseqnet.map
                        --headers include/seqnet
"""

import argparse
import os
import re
import subprocess
import sys

COMMENT_RE = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
DECL_RE = re.compile(r"\bSEQNET_API\b[^;(]*?\b([A-Za-z_]\w*)\s*\(")
NODE_RE = re.compile(r"([A-Za-z_][\w.]*)\s*\{(.*?)\}\s*([A-Za-z_][\w.]*)?\s*;", re.S)


def header_functions(header_dir):
    """{name: header file} for every SEQNET_API declaration."""
    found = {}
    for entry in sorted(os.listdir(header_dir)):
        if not entry.endswith(".h"):
            continue
        with open(os.path.join(header_dir, entry), encoding="utf-8") as f:
            text = COMMENT_RE.sub(" ", f.read())
        # Drop preprocessor lines: the SEQNET_API definition itself is one.
        text = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)
        for match in DECL_RE.finditer(text):
            found[match.group(1)] = entry
    return found


def map_symbols(map_path):
    """{symbol: node} for every global symbol of the version script."""
    with open(map_path, encoding="utf-8") as f:
        text = COMMENT_RE.sub(" ", f.read())
    symbols = {}
    nodes = []
    for node, body, _parent in NODE_RE.findall(text):
        nodes.append(node)
        scope = "global"
        for item in re.split(r"[;\s]+", body):
            if not item:
                continue
            if item in ("global:", "local:"):
                scope = item[:-1]
            elif scope == "global":
                if item in symbols:
                    sys.exit(f"{map_path}: {item} is listed in two nodes")
                symbols[item] = node
    if not nodes:
        sys.exit(f"{map_path}: no version node found")
    return symbols, nodes


def exported_symbols(nm, lib):
    """[(name, type letter, version or None)] of the defined dynamic symbols."""
    out = subprocess.run([nm, "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    result = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 2:
            continue
        kind, full = fields[-2], fields[-1]
        name, _, version = full.partition("@")
        result.append((name, kind, version.lstrip("@") or None))
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--nm", default="nm")
    parser.add_argument("--lib", required=True)
    parser.add_argument("--map", required=True)
    parser.add_argument("--headers", required=True)
    args = parser.parse_args()

    declared = header_functions(args.headers)
    in_map, nodes = map_symbols(args.map)
    exports = exported_symbols(args.nm, args.lib)

    problems = []
    exported_names = set()
    for name, kind, version in exports:
        # The version script's node names are exported as absolute symbols.
        if kind == "A" and name in nodes:
            continue
        exported_names.add(name)
        if not name.startswith("seqnet_"):
            problems.append(f"prefix: {name} is exported but does not start with seqnet_")
            continue
        if kind not in ("T", "t", "i"):
            problems.append(f"functions: {name} is exported as type {kind}, not a function")
        if name not in in_map:
            problems.append(f"in-map: {name} is exported but not listed in {args.map}")
        if name not in declared:
            problems.append(f"declared: {name} is exported but no public header declares "
                            "it with SEQNET_API")
        if version is not None and name in in_map and version != in_map[name]:
            problems.append(f"node: {name} is exported as {name}@{version} but the map puts "
                            f"it in {in_map[name]}")
    for name in sorted(declared):
        if name not in exported_names:
            problems.append(f"missing: {name} is declared in seqnet/{declared[name]} but "
                            "not exported (not implemented, or not in the map)")
    for name in sorted(in_map):
        if name not in declared:
            problems.append(f"stale-map: {name} is in the map but no header declares it")

    for problem in problems:
        print(problem)
    print(f"{len(exported_names)} exported symbols, {len(declared)} declared in headers, "
          f"{len(in_map)} in the map, version nodes: {', '.join(nodes)}")
    if problems:
        print(f"FAIL: {len(problems)} ABI problem(s)")
        return 1
    print("OK: exports, version script and headers agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
