#!/usr/bin/env python3
"""bench/cg_diff.py: instructions per statement by function, from the two callgrind runs
that bench/instructions.sh keeps with INSTR_KEEP (KIND.short.callgrind: 20 statements,
KIND.long.callgrind: 20 + N).  The difference of each function's inclusive count divided
by N is what one more statement costs in it: the one-time work of the warm-up (relation
cache, plans, the extension's per-backend caches) cancels out.

Usage: bench/cg_diff.py DIR KIND [N=200] [LINES=60]
"""
import re
import subprocess
import sys


def inclusive(path):
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                         capture_output=True, text=True, check=True).stdout
    counts = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+(\S+)", line)
        if m:
            name = m.group(2)
            name = name.split(":", 1)[1] if ":" in name else name
            counts[name] = counts.get(name, 0) + int(m.group(1).replace(",", ""))
    return counts


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    d, kind = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    lines = int(sys.argv[4]) if len(sys.argv) > 4 else 60
    short = inclusive(f"{d}/{kind}.short.callgrind")
    long_ = inclusive(f"{d}/{kind}.long.callgrind")
    rows = sorted(((long_[f] - short.get(f, 0)) / n, f) for f in long_)
    rows.reverse()
    for per, f in rows[:lines]:
        print(f"{per:10.0f}  {f}")


if __name__ == "__main__":
    main()
