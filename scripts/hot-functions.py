#!/usr/bin/env python3
"""Reads callgrind profiles (valgrind --tool=callgrind --demangle=no) of the
release binary and writes a linker symbol ordering file: every function
that ran, the most instructions first, each symbol once.

The functions of the `rudder template` profiles (files named
`template-*`) come first: a one-shot render touches only the start of the
code. The operator's own follow; `rudder run` touches all of them anyway.

Callgrind lists exactly the functions a process executed, by the names the
binary's symbol table gives them, whatever the compiler inlined: standard
library, libc and C code included. valgrind's virtual CPU lacks some of
the host's instructions (AVX-512, SHA), so libc and assembly pick another
variant of a function under it than on the host: every variant of a listed
C function (`__memmove_avx_unaligned_erms` brings `__memmove_evex_...`,
`__memmove_avx512_...`) is listed after the rest. Used by
scripts/train-layout.sh.
Usage: hot-functions.py BINARY CALLGRIND_OUT... > order-file
"""

import collections
import os
import re
import subprocess
import sys

HEADER = """\
# The functions the training workload ran (scripts/train-layout.sh): those
# of `rudder template` first, then the operator's, each group most
# instructions first: scripts/build-release.sh asks the linker to place
# them at the start of the code, together. Generated; do not edit by hand.
"""

# `fn=(12) name` names function 12; `fn=(12)` refers to it again.
NAMED = re.compile(r"^c?fn=\((\d+)\)(?: (.*))?$")


def self_costs(path, totals):
    """Adds each function's own instruction count in `path` to `totals`."""
    names = {}
    current = None
    after_calls = False
    with open(path, encoding="utf-8", errors="replace") as profile:
        for line in profile:
            line = line.rstrip("\n")
            match = NAMED.match(line)
            if match:
                ident, name = match.groups()
                if name:
                    names[ident] = name
                if line.startswith("fn="):
                    current = names.get(ident)
                    totals.setdefault(current, 0)
                continue
            if line.startswith("calls="):
                after_calls = True
                continue
            if line[:1].isdigit() or line[:1] in "+-*":
                if after_calls:
                    after_calls = False  # the inclusive cost of a call
                elif current is not None:
                    fields = line.split()
                    if len(fields) > 1 and fields[1].isdigit():
                        totals[current] += int(fields[1])


# Where a C or assembly function's name starts telling its CPU variant.
VARIANT = re.compile(r"_(sse\d?|ssse3|avx\d*|evex\d*|erms|shaext|hw|nohw|x86_64|generic)(_|$)")


def code_symbols(binary):
    """The function symbols defined in `binary`."""
    listing = subprocess.run(
        ["nm", "--defined-only", binary], check=True, capture_output=True, text=True
    ).stdout
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] in "tTwWi":
            yield fields[2]


def variants(symbols, binary):
    """The other CPU variants in `binary` of the C functions in `symbols`."""
    stems = set()
    for name in symbols:
        match = VARIANT.search(name)
        if not name.startswith(("_ZN", "_R")) and match:
            stems.add(name[: match.start() + 1])
    listed = set(symbols)
    return sorted(
        s for s in code_symbols(binary)
        if s not in listed and any(s.startswith(stem) for stem in stems)
    )


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    totals = collections.Counter()
    templates = collections.Counter()
    for path in sys.argv[2:]:
        costs = collections.Counter()
        self_costs(path, costs)
        totals.update(costs)
        if os.path.basename(path).startswith("template-"):
            templates.update(costs)
    ranked = sorted(totals, key=lambda n: (n not in templates, -totals[n]))
    symbols = [n for n in ranked if n and not n.startswith("0x")]
    if not symbols:
        sys.exit("hot-functions: no function in the profiles")
    symbols += variants(symbols, sys.argv[1])
    sys.stdout.write(HEADER + "".join(s + "\n" for s in symbols))


if __name__ == "__main__":
    main()
