#!/usr/bin/python3
"""Print lib/libseqnet.map, the linker version script, from the public headers.

Every function declared with SEQNET_API in include/seqnet/*.h is exported.
Each symbol goes into the version node of the release that introduced it,
read from the "@since MAJOR.MINOR[.PATCH]" tag of its doc comment: a symbol
with "@since 0.2.0" lands in node SEQNET_0.2. A declaration whose comment has
no @since tag (an "@copydoc" line, say) takes the @since of the declaration
just before it in the same header, which keeps grouped declarations together.

One node per release, each inheriting the previous one, as libfuse and
libxkbcommon do; only the oldest node carries "local: *;", which hides every
other symbol (the sn_* internals).

Usage:
    scripts/gen-map.py                 print the map to stdout
    scripts/gen-map.py --write         rewrite lib/libseqnet.map
    scripts/gen-map.py --check         exit 1 (with a diff) if the committed
                                       map differs from the headers
    scripts/gen-map.py --list          print "node symbol" lines (used by
                                       tests/abi/check_exports.py)

The map is committed and reviewed by hand: once a release is tagged its node
is frozen, and a symbol must never move between nodes (docs/ABI.md).
"""

import argparse
import difflib
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER_DIR = os.path.join(ROOT, "include", "seqnet")
MAP_PATH = os.path.join(ROOT, "lib", "libseqnet.map")

COMMENT_RE = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
SINCE_RE = re.compile(r"@since\s+(\d+)\.(\d+)(?:\.\d+)?")
API_RE = re.compile(r"\bSEQNET_API\b")
NAME_RE = re.compile(r"\b([A-Za-z_]\w*)\s*\($")


def blank(text, start, end):
    """Replace text[start:end] with spaces, keeping newlines and offsets."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def strip_preprocessor(text):
    """Blank out preprocessor lines (and their continuations)."""
    out = []
    in_directive = False
    for line in text.split("\n"):
        if in_directive or line.lstrip().startswith("#"):
            in_directive = line.rstrip().endswith("\\")
            out.append(" " * len(line))
        else:
            out.append(line)
    return "\n".join(out)


def parse_header(path):
    """Return [(name, (major, minor) or None)] for each SEQNET_API function."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    comments = [(m.start(), m.end(), m.group(0)) for m in COMMENT_RE.finditer(text)]
    code = text
    for start, end, _ in comments:
        code = blank(code, start, end)
    code = strip_preprocessor(code)

    decls = []
    for m in API_RE.finditer(code):
        end = code.find(";", m.end())
        if end < 0:
            raise SystemExit(f"{path}: SEQNET_API without ';'")
        # The function name is the identifier right before the first '('.
        paren = code.find("(", m.end(), end)
        if paren < 0:
            raise SystemExit(f"{path}: SEQNET_API on something that is not a function")
        name_match = NAME_RE.search(code[m.start():paren + 1])
        if not name_match:
            raise SystemExit(f"{path}: cannot find the name of the declaration at offset {m.start()}")
        name = name_match.group(1)
        # The doc comment is the last comment that ends before the
        # declaration with only white space in between.
        since = None
        for c_start, c_end, c_text in reversed(comments):
            if c_end <= m.start():
                if text[c_end:m.start()].strip() == "":
                    found = SINCE_RE.search(c_text)
                    if found:
                        since = (int(found.group(1)), int(found.group(2)))
                break
        decls.append((name, since))
    return decls


def header_symbols():
    """Return {symbol: (major, minor)} over every public header."""
    symbols = {}
    for entry in sorted(os.listdir(HEADER_DIR)):
        if not entry.endswith(".h"):
            continue
        path = os.path.join(HEADER_DIR, entry)
        previous = None
        for name, since in parse_header(path):
            if since is None:
                since = previous
            if since is None:
                raise SystemExit(f"{path}: {name} has no @since tag and no tagged "
                                 "declaration before it")
            if not name.startswith("seqnet_"):
                raise SystemExit(f"{path}: exported function {name} does not start "
                                 "with seqnet_")
            if name in symbols and symbols[name] != since:
                raise SystemExit(f"{path}: {name} declared twice with different @since")
            symbols[name] = since
            previous = since
    return symbols


def node_name(version):
    return "SEQNET_%d.%d" % version


def render(symbols):
    versions = sorted(set(symbols.values()))
    lines = [
        "/* libseqnet.map -- the linker version script of libseqnet.so.",
        " *",
        " * Generated from the SEQNET_API declarations and their @since tags in",
        " * include/seqnet/*.h by scripts/gen-map.py, then reviewed and committed.",
        " * One node per release; a released node is frozen (docs/ABI.md).",
        " */",
    ]
    previous = None
    for version in versions:
        lines.append("")
        lines.append(node_name(version) + " {")
        lines.append("global:")
        for name in sorted(n for n, v in symbols.items() if v == version):
            lines.append("    %s;" % name)
        if previous is None:
            lines.append("local:")
            lines.append("    *;")
            lines.append("};")
        else:
            lines.append("} %s;" % node_name(previous))
        previous = version
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite lib/libseqnet.map")
    mode.add_argument("--check", action="store_true",
                      help="fail if lib/libseqnet.map differs from the headers")
    mode.add_argument("--list", action="store_true", help='print "node symbol" lines')
    args = parser.parse_args()

    symbols = header_symbols()
    if not symbols:
        raise SystemExit("no SEQNET_API declarations found in " + HEADER_DIR)
    if args.list:
        for name in sorted(symbols):
            print(node_name(symbols[name]), name)
        return 0
    text = render(symbols)
    if args.write:
        with open(MAP_PATH, "w", encoding="utf-8") as f:
            f.write(text)
        print("wrote %s (%d symbols)" % (os.path.relpath(MAP_PATH, ROOT), len(symbols)))
        return 0
    if args.check:
        with open(MAP_PATH, encoding="utf-8") as f:
            committed = f.read()
        if committed != text:
            sys.stdout.writelines(difflib.unified_diff(
                committed.splitlines(True), text.splitlines(True),
                "lib/libseqnet.map (committed)", "lib/libseqnet.map (from headers)"))
            print("lib/libseqnet.map is out of date: run scripts/gen-map.py --write "
                  "and review the diff")
            return 1
        print("lib/libseqnet.map matches the headers (%d symbols)" % len(symbols))
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
