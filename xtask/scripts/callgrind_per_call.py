#!/usr/bin/env python3
"""Instructions per call of a function, from a callgrind profile taken with
--toggle-collect on that function: the instructions collected divided by the
calls to it (the `calls=` lines under each `cfn=` naming it).

    valgrind --tool=callgrind --callgrind-out-file=cg.out \
        --toggle-collect='*Reply*::decode*' BENCH_BINARY --bench 'NAME' --exact --profile-time 2
    python3 xtask/scripts/callgrind_per_call.py cg.out 'Reply.*::decode$'

Used for the ipvs-proto figures in docs/performance.md.
"""
import re
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: callgrind_per_call.py CALLGRIND_OUT FUNCTION_REGEX")
    path, pattern = sys.argv[1], re.compile(sys.argv[2])
    names = {}
    total = calls = 0
    lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^c?fn=\((\d+)\)(?: (.*))?$", line)
        if m:
            if m.group(2):
                names[m.group(1)] = m.group(2)
            if (
                line.startswith("cfn=")
                and pattern.search(names.get(m.group(1), ""))
                and i + 1 < len(lines)
                and lines[i + 1].startswith("calls=")
            ):
                calls += int(lines[i + 1].split("=")[1].split()[0])
        if line.startswith(("summary:", "totals:")):
            total = int(line.split()[1])
    if calls == 0:
        sys.exit(f"no calls to a function matching {sys.argv[2]!r} in {path}")
    print(f"Ir={total} calls={calls} per_call={total / calls:.0f}")


if __name__ == "__main__":
    main()
