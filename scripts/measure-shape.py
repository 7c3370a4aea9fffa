#!/usr/bin/env python3
"""Measures the shape of the library (issue 9): its longest functions and its largest files.

Usage: python3 scripts/measure-shape.py [ROOT] [--top N]   (ROOT defaults to shared/src)

What is counted, so that the figures in docs/design.md ("Measures") can be reproduced:
- Production code of a file is every line before its first `#[cfg(test)]` at the start of a
  line, or the whole file when it has none. A file that is only a test module (declared as
  `#[cfg(test)] mod x;` or `#[cfg(test)] #[path = "x.rs"] mod x;`) is not production code.
- A file's size is the number of non-blank lines of its production code (comments included).
- A function's length is the number of lines from the line of its `fn` keyword to the line of
  its closing brace, both included (doc comments and attributes above it are not counted).
  Every `fn` with a body counts, nested ones and trait methods included; declarations without
  a body (`fn f();`) and closures do not. Comments, strings and character literals are skipped
  when matching braces.

Prints the longest functions, then every production file by size, each with its target
(functions under 60 lines, files under 400 non-blank lines); exits 1 when a target is missed.
"""

import re
import sys
from pathlib import Path

FUNCTION_LIMIT = 60
FILE_LIMIT = 400
TEST_GATE = re.compile(r"^#\[cfg\(test\)\]")


def production_lines(text):
    """The lines before the first `#[cfg(test)]` at the start of a line."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if TEST_GATE.match(line):
            return lines[:i]
    return lines


def test_only_files(path, text):
    """The files a module declares as test modules (`#[cfg(test)]` before `mod x;`)."""
    found = []
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not TEST_GATE.match(line):
            continue
        explicit = None
        for follow in lines[i + 1 : i + 4]:
            m = re.match(r'\s*#\[path\s*=\s*"([^"]+)"\]', follow)
            if m:
                explicit = m.group(1)
                continue
            m = re.match(r"\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;", follow)
            if m:
                # A `mod.rs` or `lib.rs` holds its children in its own directory; any other file
                # `x.rs` in `x/`; `#[path]` is relative to the declaring file's directory.
                if explicit is not None:
                    found.append((path.parent / explicit).resolve())
                elif path.name in ("mod.rs", "lib.rs", "main.rs"):
                    base = path.parent
                    found += [(base / f"{m.group(1)}.rs").resolve(),
                              (base / m.group(1) / "mod.rs").resolve()]
                else:
                    base = path.parent / path.stem
                    found += [(base / f"{m.group(1)}.rs").resolve(),
                              (base / m.group(1) / "mod.rs").resolve()]
            break
    return found


def code_only(text):
    """The text with comments, strings and character literals blanked (newlines kept)."""
    out = []
    i, n = 0, len(text)
    blank = lambda s: re.sub(r"[^\n]", " ", s)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(text[i:j]))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif (m := re.match(r'b?r(#*)"', text[i:])) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            end = text.find('"' + m.group(1), i + m.end())
            j = n if end < 0 else end + 1 + len(m.group(1))
            out.append(blank(text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(blank(text[i : j + 1]))
            i = j + 1
        elif c == "'":
            # A character literal ('x', '\n', '\u{..}'), or a lifetime ('a) left as it is.
            m = re.match(r"'(\\u\{[0-9a-fA-F]+\}|\\.|[^\\'])'", text[i:])
            if m:
                out.append(blank(m.group(0)))
                i += m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(code):
    """(name, first line, last line) of every `fn` with a body, lines counted from 1."""
    found = []
    for m in re.finditer(r"\bfn\s+(\w+)", code):
        depth_paren = depth_angle = 0
        j = m.end()
        # The body is the first `{` outside the signature's parentheses; `;` first: no body.
        while j < len(code):
            ch = code[j]
            if ch in "([":
                depth_paren += 1
            elif ch in ")]":
                depth_paren -= 1
            elif ch == ";" and depth_paren == 0:
                j = -1
                break
            elif ch == "{" and depth_paren == 0:
                break
            j += 1
        if j < 0 or j >= len(code):
            continue
        depth, k = 0, j
        while k < len(code):
            if code[k] == "{":
                depth += 1
            elif code[k] == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        first = code.count("\n", 0, m.start()) + 1
        last = code.count("\n", 0, k) + 1
        found.append((m.group(1), first, last))
    return found


def module_path(root, path):
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return "::".join(parts) or "crate"


def main():
    args = sys.argv[1:]
    top = 15
    if "--top" in args:
        k = args.index("--top")
        top = int(args[k + 1])
        del args[k : k + 2]
    root = Path(args[0] if args else "shared/src").resolve()
    files = sorted(root.rglob("*.rs"))
    texts = {p: p.read_text() for p in files}
    tests = set()
    for p, t in texts.items():
        tests.update(test_only_files(p, t))

    sizes, funcs = [], []
    for p in files:
        if p.resolve() in tests:
            continue
        prod = "\n".join(production_lines(texts[p]))
        sizes.append((sum(1 for l in prod.split("\n") if l.strip()), p.relative_to(root)))
        for name, first, last in functions(code_only(prod)):
            funcs.append((last - first + 1, f"{module_path(root, p)}::{name}", p.relative_to(root), first))

    funcs.sort(key=lambda f: (-f[0], f[1]))
    sizes.sort(key=lambda s: (-s[0], str(s[1])))
    print(f"longest functions (lines from `fn` to its closing brace; target < {FUNCTION_LIMIT}):")
    for length, name, rel, first in funcs[:top]:
        flag = "" if length < FUNCTION_LIMIT else "  <- over"
        print(f"  {length:4}  {name}  ({rel}:{first}){flag}")
    print(f"\nproduction files (non-blank lines before #[cfg(test)]; target < {FILE_LIMIT}):")
    for count, rel in sizes:
        flag = "" if count < FILE_LIMIT else "  <- over"
        print(f"  {count:4}  {rel}{flag}")
    print(f"\ntest-only files left out: {', '.join(sorted(str(t.relative_to(root)) for t in tests if t.exists())) or 'none'}")
    missed = any(f[0] >= FUNCTION_LIMIT for f in funcs) or any(s[0] >= FILE_LIMIT for s in sizes)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
