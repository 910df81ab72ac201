#!/usr/bin/python3
"""The public headers compile on their own as C89 or as C++, warning-free.

For each include/seqnet/*.h (the umbrella seqnet.h included) a small source
is generated that includes the header twice (the include guard must hold)
and is compiled with -Wall -Wextra -pedantic -Werror in the chosen language
mode. Then one program includes the umbrella header, takes the address of
every SEQNET_API function; with --nm, the object's undefined references
must be exactly those plain names: in C++ that proves every declaration sits
inside extern "C" (a missing one would leave a mangled _Z... reference that
no C library can satisfy). Whether the library defines them all is
check_exports.py's job.

Usage: check_headers.py --lang c89|c++11 --include DIR [--nm NM]
                        -- COMPILER [ARGS...]
Exit status 77 (meson's "skipped") when the compiler does not exist.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

COMMENT_RE = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
DECL_RE = re.compile(r"\bSEQNET_API\b[^;(]*?\b([A-Za-z_]\w*)\s*\(")

LANGS = {
    "c89": ([".c"], ["-std=c89", "-Wall", "-Wextra", "-pedantic", "-Werror",
                     "-Wstrict-prototypes"]),
    "c++11": ([".cpp"], ["-std=c++11", "-Wall", "-Wextra", "-pedantic",
                         "-Werror"]),
}


def declared_functions(header_dir):
    names = []
    for entry in sorted(os.listdir(header_dir)):
        if entry.endswith(".h"):
            with open(os.path.join(header_dir, entry), encoding="utf-8") as f:
                text = COMMENT_RE.sub(" ", f.read())
            text = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)
            names += DECL_RE.findall(text)
    return names


def run(cmd, label):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"FAIL {label}")
        print("  $ " + " ".join(cmd))
        print("  " + (proc.stdout + proc.stderr).strip().replace("\n", "\n  "))
        return False
    print(f"ok   {label}")
    return True


def check_references(nm, obj, names, lang):
    """The object refers to every function by its plain C name, and to
    nothing of seqnet's by a C++-mangled one."""
    out = subprocess.run([nm, "-u", obj], check=True, capture_output=True,
                         text=True).stdout
    undefined = {line.split()[-1] for line in out.splitlines() if line.strip()}
    mangled = sorted(u for u in undefined if u.startswith("_Z") and "seqnet" in u)
    absent = sorted(set(names) - undefined)
    if mangled or absent:
        print(f"FAIL {lang} references use C linkage")
        for name in mangled:
            print(f"  mangled reference (declaration outside extern \"C\"?): {name}")
        for name in absent:
            print(f"  no plain reference to {name}")
        return False
    print(f"ok   {lang} references use C linkage")
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lang", choices=sorted(LANGS), required=True)
    parser.add_argument("--include", required=True, help="directory holding seqnet/")
    parser.add_argument("--nm", help="nm, to check the references the program makes")
    parser.add_argument("compiler", nargs="+")
    args = parser.parse_args()

    if shutil.which(args.compiler[0]) is None:
        print(f"SKIP: no compiler {args.compiler[0]}")
        return 77
    (suffix,), flags = LANGS[args.lang]
    header_dir = os.path.join(args.include, "seqnet")
    headers = sorted(h for h in os.listdir(header_dir) if h.endswith(".h"))
    base = args.compiler + flags + ["-I", args.include]

    failures = 0
    checks = len(headers) + 1
    with tempfile.TemporaryDirectory(prefix="seqnet-headers-") as tmp:
        for header in headers:
            src = os.path.join(tmp, header[:-2] + suffix)
            with open(src, "w", encoding="utf-8") as f:
                f.write(f"#include <seqnet/{header}>\n#include <seqnet/{header}>\n"
                        "int main(void) { return 0; }\n")
            if not run(base + ["-c", src, "-o", src + ".o"], f"{args.lang} seqnet/{header}"):
                failures += 1

        names = declared_functions(header_dir)
        src = os.path.join(tmp, "all_functions" + suffix)
        with open(src, "w", encoding="utf-8") as f:
            f.write("#include <seqnet/seqnet.h>\n"
                    "typedef void (*any_fn)(void);\n"
                    "static const any_fn table[] = {\n")
            f.writelines(f"    (any_fn) &{name},\n" for name in names)
            f.write("    (any_fn) 0\n};\n"
                    "int main(void) { return table[0] == (any_fn) 0; }\n")
        obj = src + ".o"
        if not run(base + ["-c", src, "-o", obj],
                   f"{args.lang} all {len(names)} functions declared"):
            failures += 1
        elif args.nm:
            checks += 1
            if not check_references(args.nm, obj, names, args.lang):
                failures += 1

    print(f"headers: {checks - failures} checks ok, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
