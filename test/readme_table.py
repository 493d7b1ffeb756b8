#!/usr/bin/python3
"""Rewrite README.md's table "Keywords accepted and ignored" from `waxlb -vv` (run by hand after changing
the keyword tables; test_config.py::test_readme_lists_every_ignored_keyword checks they agree)."""
import os, re, subprocess, sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = subprocess.run([os.path.join(REPO, "waxlb"), "-vv"], capture_output=True, text=True, check=True).stdout
rows = []
for line in out.splitlines():
    m = re.match(r"^(section|global|proxy|option|bind|server|stats|http-check)\s+(\S+)\s+(.*\S)", line)
    if m:
        why = m.group(3).replace("|", "\\|")
        rows.append("| %s | `%s` | %s |" % (m.group(1), m.group(2), why))
path = os.path.join(REPO, "README.md")
text = open(path).read()
head, rest = text.split("#### Keywords accepted and ignored", 1)
start = rest.index("| context | keyword |")
lines = rest[start:].split("\n")
n = 2
while n < len(lines) and lines[n].startswith("| "):
    n += 1
new = "\n".join(lines[:2] + rows + lines[n:])
open(path, "w").write(head + "#### Keywords accepted and ignored" + rest[:start] + new)
print("%d rows" % len(rows))
