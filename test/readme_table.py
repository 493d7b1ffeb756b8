#!/usr/bin/python3
"""Rewrite README.md's tables "Keywords accepted and ignored" and "Keywords refused" from `waxlb -vv` (run by
hand after changing the keyword tables; test_config.py::test_readme_lists_every_ignored_keyword checks they
agree)."""
import os, re, subprocess, sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = subprocess.run([os.path.join(REPO, "waxlb"), "-vv"], capture_output=True, text=True, check=True).stdout
parts = out.split("\nRefused (", 1)
path = os.path.join(REPO, "README.md")
text = open(path).read()
for heading, part in (("#### Keywords accepted and ignored", parts[0]), ("#### Keywords refused", parts[1])):
    rows = []
    for line in part.splitlines():
        m = re.match(r"^(section|global|proxy|option|bind|server|stats|http-check)\s+(\S+)\s+(.*\S)", line)
        if m:
            why = m.group(3).replace("|", "\\|")
            rows.append("| %s | `%s` | %s |" % (m.group(1), m.group(2), why))
    head, rest = text.split(heading, 1)
    start = rest.index("| context | keyword |")
    lines = rest[start:].split("\n")
    n = 2
    while n < len(lines) and lines[n].startswith("| "):
        n += 1
    new = "\n".join(lines[:2] + rows + lines[n:])
    text = head + heading + rest[:start] + new
    print("%s: %d rows" % (heading[5:], len(rows)))
open(path, "w").write(text)
