#!/usr/bin/python3
"""lint.py - structure report for a C file in waxlb's style (waxlb.c).

Usage:  /usr/bin/python3 test/lint.py [--strict] [FILE]     (FILE defaults to waxlb.c)
        make lint

It prints three things:

1. Long functions.  A function definition is a line in column 0 that starts
   with the function name and "(" (BSD style: the return type is on the line
   before), whose body opens with "{" in column 0 and closes with the next
   "}" in column 0.  Length = the lines from that "{" to that "}", both
   inclusive (the name line and the parameter lines are not counted).  Every
   function over 80 lines is listed, longest first; those over 120 are marked.

2. Sections.  New-style markers, each alone on its line:
       /*==== begin NAME ====*/   ...   /*==== end NAME ====*/
   When the file has none, the old banners are used: a line "/* ===...=== */"
   followed by a line "/* Title.  ... */"; the name is the title up to the
   first "." or ":", and a section runs from its banner to the line before
   the next one.  Code before the first section is the pseudo-section
   "(top)"; with new markers, code between an "end" and the next "begin" is
   "(between A and B)" and code after the last "end" is "(bottom)".  With new
   markers the pairs are checked: every begin has a matching end, no nesting,
   no name used twice, no function defined outside a section.

3. Upward-reference violations.  Rule: a section may refer only to functions
   defined in itself or in sections above it (earlier in the file).  Reported:
   (a) forward declarations: a top-level prototype (a declaration ending in
       ");", not a definition, not a typedef) of a function defined in this
       file in a LATER section than the prototype;
   (b) references: a function name defined in this file, as a whole word,
       inside a function body, a top-level initialiser (the text after "=" in
       a top-level declaration, e.g. keyword tables) or a #define, whose
       definition is in a LATER section.  Comments and string/character
       literals are ignored, and so are member names (after "." or "->") and
       struct/union/enum tags.
   Format:  FILE:LINE: section A -> section B: caller -> callee

   Allow-list: a comment "/* lint: callback */" on the same line as a
   reference (or as a forward declaration) suppresses it; suppressed ones are
   counted in the summary.  Meant for the deliberate cases, e.g. a lower layer
   that is handed a callback of a higher one.

Exit status: 0 (it is a report; "make lint" must not fail a build), 2 when
FILE cannot be read.  With --strict: 1 when a function is over 120 lines, a
violation is found or the section markers have a problem.

The parsing helpers (read_source, strip_c, parse_functions, parse_sections,
section_at) are imported by test/walk.py, which maps traced functions to the
same sections.
"""

import argparse
import bisect
import os
import re
import sys

LONG = 80
TOO_LONG = 120
ALLOW = "/* lint: callback */"

NEW_MARK = re.compile(r"^/\*==== (begin|end) (\w+) ====\*/\s*$")
NEW_MARK_LOOSE = re.compile(r"^\s*/\*\s*=+\s*(begin|end)\b")
OLD_BANNER = re.compile(r"^/\* =+ \*/\s*$")
OLD_TITLE = re.compile(r"^/\* (?!=)(.*?)\s*\*/\s*$")
NAME_LINE = re.compile(r"^([A-Za-z_]\w*)\s*\(")
IDENT = re.compile(r"[A-Za-z_]\w*")

C_KEYWORDS = {
    "auto", "break", "case", "char", "const", "continue", "default", "do",
    "double", "else", "enum", "extern", "float", "for", "goto", "if", "inline",
    "int", "long", "register", "restrict", "return", "short", "signed",
    "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned",
    "void", "volatile", "while", "_Bool", "_Static_assert", "__attribute__",
}


# ------------------------------------------------------------------ reading

def read_source(path):
    """The file as a list of lines (no newlines); OSError when unreadable."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()		# the newline that ends the last line
    return lines


def strip_c(lines):
    """The same lines with comments and string/char literals blanked to
    spaces (columns and line numbers kept), so that braces, names and
    semicolons can be found by simple scanning."""
    text = "\n".join(lines)
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "/" and i + 1 < n and text[i + 1] == "*":
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
        elif c == "/" and i + 1 < n and text[i + 1] == "/":
            j = text.find("\n", i)
            j = n if j < 0 else j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
        else:
            i += 1
            continue
        for k in range(i, j):
            if out[k] != "\n":
                out[k] = " "
        i = j
    return "".join(out).split("\n")


# ------------------------------------------------------------------ functions

class Function:
    def __init__(self, name, name_line, open_line, close_line):
        self.name = name
        self.name_line = name_line	# 1-based line of "name("
        self.open_line = open_line	# line of "{" in column 0
        self.close_line = close_line	# line of "}" in column 0
        self.length = close_line - open_line + 1
        self.section = None

    def __repr__(self):
        return "Function(%s, %d, %d)" % (self.name, self.name_line, self.length)


def parse_functions(lines, code=None):
    """Definitions by the column-0 rule (see the docstring), in file order."""
    code = strip_c(lines) if code is None else code
    funcs = []
    i, n = 0, len(code)
    while i < n:
        m = NAME_LINE.match(code[i])
        if m is None or m.group(1) in C_KEYWORDS:
            i += 1
            continue
        # the parameter lines up to the "{" in column 0; a ";" first means
        # a prototype, anything else in column 0 means it was no header
        j = i
        while j < n and not code[j].startswith("{"):
            if code[j].rstrip().endswith(";") or (j > i and code[j][:1] not in ("", " ", "\t")):
                break
            j += 1
        if j >= n or not code[j].startswith("{"):
            i += 1
            continue
        k = j + 1
        while k < n and not code[k].startswith("}"):
            k += 1
        if k >= n:
            break
        funcs.append(Function(m.group(1), i + 1, j + 1, k + 1))
        i = k + 1
    return funcs


# ------------------------------------------------------------------ sections

class Section:
    def __init__(self, name, index, start, end, pseudo=False):
        self.name = name
        self.index = index	# order in the file, 0 = first
        self.start = start	# first line (1-based, inclusive)
        self.end = end		# last line (inclusive)
        self.pseudo = pseudo

    def __repr__(self):
        return "Section(%r, %d-%d)" % (self.name, self.start, self.end)


def _old_sections(lines):
    starts = []
    for i in range(len(lines) - 1):
        if OLD_BANNER.match(lines[i]):
            m = OLD_TITLE.match(lines[i + 1])
            if m and not OLD_BANNER.match(lines[i + 1]):
                title = re.split(r"[.:]", m.group(1), maxsplit=1)[0].strip()
                starts.append((i + 1, title or m.group(1)))
    secs = []
    if not starts or starts[0][0] > 1:
        secs.append(Section("(top)", 0, 1, (starts[0][0] - 1) if starts else len(lines), True))
    for k, (line, title) in enumerate(starts):
        end = starts[k + 1][0] - 1 if k + 1 < len(starts) else len(lines)
        secs.append(Section(title, len(secs), line, end))
    return secs


def _new_sections(lines):
    problems = []
    secs = []
    open_sec = None		# (name, line)
    seen = {}
    last_end = 0		# last line that belongs to a real section or (top)
    prev_name = None

    def gap(upto, label):
        if upto > last_end:
            secs.append(Section(label, len(secs), last_end + 1, upto, True))

    for i, text in enumerate(lines, 1):
        m = NEW_MARK.match(text)
        if m is None:
            if NEW_MARK_LOOSE.match(text):
                problems.append((i, "marker-like line not in the exact form "
                                 "'/*==== begin|end NAME ====*/': %s" % text.strip()))
            continue
        kind, name = m.groups()
        if kind == "begin":
            if open_sec is not None:
                problems.append((i, "begin %s inside section %s (begun at line %d): "
                                 "sections do not nest" % (name, open_sec[0], open_sec[1])))
                # close the open one here so that the rest stays usable
                secs.append(Section(open_sec[0], len(secs), open_sec[1], i - 1))
                last_end = i - 1
                prev_name = open_sec[0]
            else:
                gap(i - 1, "(top)" if prev_name is None else
                    "(between %s and %s)" % (prev_name, name))
                last_end = i - 1
            if name in seen:
                problems.append((i, "section %s begun again (first at line %d)" % (name, seen[name])))
            seen.setdefault(name, i)
            open_sec = (name, i)
        else:
            if open_sec is None:
                problems.append((i, "end %s without a matching begin" % name))
                continue
            if name != open_sec[0]:
                problems.append((i, "end %s closes section %s (begun at line %d)"
                                 % (name, open_sec[0], open_sec[1])))
            secs.append(Section(open_sec[0], len(secs), open_sec[1], i))
            last_end = i
            prev_name = open_sec[0]
            open_sec = None
    if open_sec is not None:
        problems.append((open_sec[1], "section %s has no end" % open_sec[0]))
        secs.append(Section(open_sec[0], len(secs), open_sec[1], len(lines)))
        last_end = len(lines)
    if last_end < len(lines):
        gap(len(lines), "(bottom)" if prev_name else "(top)")
    return secs, problems


def parse_sections(lines):
    """(sections, style, problems): sections in file order covering every
    line, style "new" or "old", problems a list of (line, message)."""
    if any(NEW_MARK.match(t) for t in lines):
        secs, problems = _new_sections(lines)
        return secs, "new", problems
    return _old_sections(lines), "old", []


def section_at(sections, line):
    """The section holding a 1-based line."""
    starts = [s.start for s in sections]
    k = bisect.bisect_right(starts, line) - 1
    return sections[max(k, 0)]


class SectionMap:
    """Fast line -> section lookups."""

    def __init__(self, sections):
        self.sections = sections
        self.starts = [s.start for s in sections]

    def __call__(self, line):
        return self.sections[max(bisect.bisect_right(self.starts, line) - 1, 0)]


# ------------------------------------------------------------------ references

def _preproc_lines(code):
    """Line indexes (0-based) that belong to preprocessor directives,
    continuation lines included, with the #define name when there is one."""
    res = {}
    i = 0
    while i < len(code):
        s = code[i].lstrip()
        if s.startswith("#"):
            m = re.match(r"#\s*define\s+(\w+)", s)
            label = "(macro %s)" % m.group(1) if m else None
            j = i
            while True:
                res[j] = label
                if not code[j].rstrip().endswith("\\") or j + 1 >= len(code):
                    break
                j += 1
            i = j + 1
        else:
            i += 1
    return res


def _is_member_or_tag(line_code, col):
    before = line_code[:col].rstrip()
    if before.endswith(".") or before.endswith("->"):
        return True
    return re.search(r"\b(struct|union|enum|goto)$", before) is not None


def _top_level_statements(code, skip, def_starts):
    """Top-level statements outside function bodies and directives, as lists
    of (line_index, start_col, end_col) pieces, split on ';' at brace depth 0.
    A definition's name line drops the pending piece (its return type)."""
    stmt, depth = [], 0
    for li, text in enumerate(code):
        if li in def_starts:
            stmt = []
        if skip[li]:
            continue
        col = 0
        for ci, ch in enumerate(text):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth = max(depth - 1, 0)
            elif ch == ";" and depth == 0:
                stmt.append((li, col, ci + 1))
                yield stmt
                stmt, col = [], ci + 1
        if col < len(text):
            stmt.append((li, col, len(text)))
    if stmt:
        yield stmt


def analyse(lines, filename="waxlb.c"):
    """Everything the report prints, as a dict."""
    code = strip_c(lines)
    funcs = parse_functions(lines, code)
    sections, style, problems = parse_sections(lines)
    sec_of = SectionMap(sections)
    for f in funcs:
        f.section = sec_of(f.open_line)
        if style == "new" and f.section.pseudo and f.section.name != "(top)":
            problems.append((f.name_line, "function %s is outside any section (%s)"
                             % (f.name, f.section.name)))
        elif style == "new" and f.section.pseudo:
            problems.append((f.name_line, "function %s is before the first section" % f.name))
    defs = {}
    for f in funcs:
        defs.setdefault(f.name, f)	# names are unique in waxlb.c; first wins

    n = len(lines)
    in_body = [None] * n		# 0-based line -> Function whose body holds it
    header = [False] * n		# name and parameter lines of definitions
    for f in funcs:
        for li in range(f.name_line - 1, f.open_line - 1):
            header[li] = True
        for li in range(f.open_line - 1, f.close_line):
            in_body[li] = f
    pre = _preproc_lines(code)

    refs, suppressed_refs = [], 0
    protos, suppressed_protos = [], 0
    seen_ref = set()

    def add_ref(li, col_from, col_to, caller, caller_sec):
        nonlocal suppressed_refs
        text = code[li]
        for m in IDENT.finditer(text, col_from, col_to):
            callee = defs.get(m.group(0))
            if callee is None or callee.section.index <= caller_sec.index:
                continue
            if _is_member_or_tag(text, m.start()):
                continue
            key = (li, callee.name)
            if key in seen_ref:
                continue
            seen_ref.add(key)
            if ALLOW in lines[li]:
                suppressed_refs += 1
                continue
            refs.append((li + 1, caller_sec, callee.section, caller, callee.name))

    # (b) in function bodies and #defines
    for li in range(n):
        if li in pre:
            if pre[li]:
                add_ref(li, 0, len(code[li]), pre[li], sec_of(li + 1))
        elif in_body[li] is not None:
            f = in_body[li]
            add_ref(li, 0, len(code[li]), f.name, f.section)

    # (a) prototypes and (b) top-level initialisers
    skip = [bool(in_body[li] or header[li] or li in pre) for li in range(n)]
    nproto = 0
    def_starts = {f.name_line - 1 for f in funcs}
    for stmt in _top_level_statements(code, skip, def_starts):
        flat = " ".join(code[li][a:b] for li, a, b in stmt)
        if not flat.strip():
            continue
        first_li = next((li for li, a, b in stmt if code[li][a:b].strip()), stmt[0][0])
        words = flat.split()
        if words and words[0] == "typedef":
            continue
        eq = _depth0_index(flat, "=")
        if eq < 0 and "{" not in flat and "(" in flat:
            # a declaration with a parameter list: the name is the identifier
            # just before the first "("
            m = re.search(r"([A-Za-z_]\w*)\s*\(", flat)
            if m is None or m.group(1) in C_KEYWORDS:
                continue
            nproto += 1
            target = defs.get(m.group(1))
            psec = sec_of(first_li + 1)
            if target is not None and target.section.index > psec.index:
                if any(ALLOW in lines[li] for li, a, b in stmt):
                    suppressed_protos += 1
                else:
                    protos.append((first_li + 1, psec, target.section, target))
            continue
        if eq < 0:
            continue
        # initialiser: everything after the first "=" at depth 0
        name = _declared_name(flat[:eq])
        caller = "(initialiser %s)" % name if name else "(initialiser)"
        pos = 0
        for li, a, b in stmt:
            width = b - a + 1
            if pos + width <= eq:
                pos += width
                continue
            start = a + max(eq - pos, 0)
            add_ref(li, start, b, caller, sec_of(li + 1))
            pos += width

    refs.sort(key=lambda r: r[0])
    protos.sort(key=lambda r: r[0])
    return {
        "filename": filename,
        "lines": n,
        "functions": funcs,
        "sections": sections,
        "style": style,
        "problems": sorted(problems),
        "protos": protos,
        "nproto": nproto,
        "refs": refs,
        "suppressed_refs": suppressed_refs,
        "suppressed_protos": suppressed_protos,
    }


def _depth0_index(s, ch):
    depth = 0
    for i, c in enumerate(s):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == ch and depth == 0:
            # not part of ==, <=, >=, !=
            if s[i + 1:i + 2] == "=" or (i and s[i - 1] in "=<>!"):
                continue
            return i
    return -1


def _declared_name(decl):
    ids = [w for w in IDENT.findall(re.sub(r"\[[^\]]*\]", "", decl)) if w not in C_KEYWORDS]
    return ids[-1] if ids else None


# ------------------------------------------------------------------ report

def report(r, out=sys.stdout):
    fn = r["filename"]
    funcs = r["functions"]
    p = lambda *a: print(*a, file=out)

    p("lint: %s (%d lines)" % (fn, r["lines"]))
    p("")
    p("== Functions over %d lines" % LONG)
    p("   (a definition: the name in column 0 after its return type line, body from a '{'")
    p("    in column 0 to the next '}' in column 0; length = those lines, both braces")
    p("    included; line = the line of the name; '!!' = over %d)" % TOO_LONG)
    longf = sorted((f for f in funcs if f.length > LONG), key=lambda f: (-f.length, f.name_line))
    for f in longf:
        p("  %s %4d  %-24s %s:%-6d %s" % ("!!" if f.length > TOO_LONG else "  ", f.length,
                                          f.name, fn, f.name_line, f.section.name))
    n120 = sum(1 for f in funcs if f.length > TOO_LONG)
    p("functions: %d, over %d: %d, over %d: %d" % (len(funcs), LONG, len(longf), TOO_LONG, n120))
    p("")

    p("== Sections (%s-style markers)" % r["style"])
    counts = {}
    for f in funcs:
        counts[f.section.index] = counts.get(f.section.index, 0) + 1
    w = max(len(s.name) for s in r["sections"])
    for s in r["sections"]:
        p("  %2d  %-*s %6d-%-6d %5d lines %4d functions" % (
            s.index, w, s.name, s.start, s.end, s.end - s.start + 1, counts.get(s.index, 0)))
    if r["style"] == "old":
        p("  (no '/*==== begin NAME ====*/' markers: sections from the old banners)")
    if r["problems"]:
        for line, msg in r["problems"]:
            p("%s:%d: marker problem: %s" % (fn, line, msg))
    elif r["style"] == "new":
        p("  markers: begin/end pairs match, no nesting")
    p("section marker problems: %d" % len(r["problems"]))
    p("")

    p("== Forward declarations of functions defined in a later section")
    for line, psec, dsec, target in r["protos"]:
        p("%s:%d: section %s -> section %s: prototype %s (defined at line %d)" % (
            fn, line, psec.name, dsec.name, target.name, target.name_line))
    p("")
    p("== References to functions defined in a later section")
    for line, csec, dsec, caller, callee in r["refs"]:
        p("%s:%d: section %s -> section %s: %s -> %s" % (fn, line, csec.name, dsec.name,
                                                       caller, callee))
    p("")
    pairs = {(c, d) for _, _, _, c, d in r["refs"]}
    callees = {d for _, _, _, _, d in r["refs"]}
    p("== Summary")
    p("functions: %d, over %d: %d, over %d: %d" % (len(funcs), LONG, len(longf), TOO_LONG, n120))
    p("sections: %d (%s-style)" % (sum(1 for s in r["sections"] if not s.pseudo), r["style"]))
    p("prototypes (top level): %d" % r["nproto"])
    p("forward declarations to later sections: %d" % len(r["protos"]))
    p("references to later sections: %d (%d distinct caller -> callee pairs, %d distinct callees)"
      % (len(r["refs"]), len(pairs), len(callees)))
    p("suppressed by '%s': %d references, %d forward declarations"
      % (ALLOW, r["suppressed_refs"], r["suppressed_protos"]))
    return n120 == 0 and not r["protos"] and not r["refs"] and not r["problems"]


def main(argv=None):
    ap = argparse.ArgumentParser(description="Function lengths, sections and upward-reference "
                                 "violations of a C file (see the docstring).")
    ap.add_argument("file", nargs="?", default="waxlb.c")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 when a function is over %d lines or a violation is found" % TOO_LONG)
    a = ap.parse_args(argv)
    try:
        lines = read_source(a.file)
    except OSError as e:
        print("lint: cannot read %s: %s" % (a.file, e.strerror or e), file=sys.stderr)
        return 2
    clean = report(analyse(lines, a.file))
    return 1 if a.strict and not clean else 0


if __name__ == "__main__":
    sys.exit(main())
