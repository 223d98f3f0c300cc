#!/usr/bin/env python3
"""List the public functions and views of sql/install/*.sql that doc/reference.md
has no entry for, or an entry without an example.  An entry is a heading (a line
starting with #) naming the object as erp.<name>; its example is a code block in
its section (up to the next heading of the same or a higher level).  Trigger functions, the erp.gtin type's support functions
(documented in doc/gtin.md) and functions only the extension's own code calls
(revoked from every role in the install scripts) are not public.
Exit status 1 when something is missing."""
import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
sql = "\n".join(p.read_text() for p in sorted((root / "sql/install").glob("*.sql")))
# drop comments so that a name in a comment does not count as a definition
sql = re.sub(r"--[^\n]*", "", sql)

create = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?(FUNCTION|PROCEDURE|VIEW|MATERIALIZED\s+VIEW)\s+erp\.(\w+)",
    re.I)
objects = {}
for m in create.finditer(sql):
    kind, name = m.group(1).upper().split()[-1], m.group(2).lower()
    if kind in ("FUNCTION", "PROCEDURE"):
        # the return type: the first RETURNS after the argument list
        rest = sql[m.end():m.end() + 4000]
        r = re.search(r"\bRETURNS\s+(?:SETOF\s+)?([\w.]+)", rest, re.I)
        if r and r.group(1).lower() in ("trigger", "event_trigger"):
            continue
        if name.startswith("gtin_") and name not in ("gtin_is_valid",):
            continue  # the type's I/O, cast and operator support: doc/gtin.md
    objects.setdefault(name, kind)

# functions revoked from every role are internal
internal = set()
for m in re.finditer(r"REVOKE\s+(?:ALL|EXECUTE)\s+ON\s+FUNCTION\s+erp\.(\w+)[^;]*FROM\s+([^;]+);",
                     sql, re.I):
    if not re.search(r"GRANT\s+EXECUTE\s+ON\s+FUNCTION\s+erp\." + m.group(1) + r"\b", sql, re.I):
        internal.add(m.group(1).lower())

# sections of reference.md: a heading and its text up to the next heading of
# the same or a higher level (its subsections included)
ref = (root / "doc/reference.md").read_text().splitlines()
heads = []
in_code = False
for i, line in enumerate(ref):
    if line.startswith("```"):
        in_code = not in_code
    elif not in_code and line.startswith("#"):
        heads.append((i, len(line) - len(line.lstrip("#")), line))
headed, with_example = set(), set()
for k, (i, level, line) in enumerate(heads):
    end = next((j for j, lv, _ in heads[k + 1:] if lv <= level), len(ref))
    names = {n.lower() for n in re.findall(r"erp\.(\w+)", line)}
    headed |= names
    if any(l.startswith("```") for l in ref[i + 1:end]):
        with_example |= names

public = sorted(n for n in objects if n not in internal)
missing = [n for n in public if n not in headed]
no_example = [n for n in public if n in headed and n not in with_example]
print(f"{len(objects)} functions and views in sql/install/*.sql, {len(objects) - len(public)} internal; "
      f"{len(missing)} without an entry in doc/reference.md, {len(no_example)} with an entry but no example")
for n in missing:
    print(f"  missing: erp.{n} ({objects[n].lower()})")
for n in no_example:
    print(f"  no example: erp.{n} ({objects[n].lower()})")
sys.exit(1 if missing or no_example else 0)
