#!/usr/bin/env python3
"""The shape of the code, checked by `make lint` and `make test`: source files of at most 800
lines, functions of at most 80, and no circle of imports between the modules of a crate
(migrations and generated code aside). What is over today is listed in
scripts/code-shape.baseline and may only shrink: a new offender fails, naming itself; one that
is mended is dropped from the list with `scripts/code-shape.py --update`.
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scripts" / "code-shape.baseline"
MAX_FILE = 800
MAX_FN = 80
FN = re.compile(r"^(\s*)(pub(\([^)]*\))?\s+)?(async\s+)?(const\s+)?(unsafe\s+)?fn\s+(\w+)")


def crates():
    for toml in sorted(ROOT.glob("*/Cargo.toml")) + sorted(ROOT.glob("services/*/Cargo.toml")):
        src = toml.parent / "src"
        if src.is_dir():
            yield toml.parent.relative_to(ROOT), src


def sources(src):
    for path in sorted(src.rglob("*.rs")):
        if "migration" in path.parts or path.name.startswith("m20"):
            continue
        yield path


def long_functions(path, lines):
    out = []
    i = 0
    while i < len(lines):
        m = FN.match(lines[i])
        line = lines[i].rstrip()
        one_line = "{" in line and line.count("{") == line.count("}")
        if m and not line.endswith(";") and not one_line:
            indent = m.group(1)
            end = i
            while end < len(lines) and lines[end].rstrip() != indent + "}":
                end += 1
            length = end - i + 1
            if length > MAX_FN and end < len(lines):
                out.append(f"fn {path}:{m.group(7)} {length} lines")
            i = end + 1 if end < len(lines) else i + 1
        else:
            i += 1
    return out


def circles(crate, src):
    """Circles of `crate::module` references between a crate's top-level modules."""
    modules = {}
    for path in sources(src):
        rel = path.relative_to(src)
        name = rel.parts[0].removesuffix(".rs")
        if name in ("lib", "main"):
            continue
        modules.setdefault(name, []).append(path.read_text(encoding="utf-8"))
    edges = {
        m: {n for n in modules if n != m and any(re.search(r"\bcrate::" + n + r"\b", t) for t in texts)}
        for m, texts in modules.items()
    }
    # Tarjan's strongly connected components.
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return [f"circle {crate}: {m}" for comp in out for m in sorted(comp)]


def offenders():
    found = []
    for crate, src in crates():
        for path in sources(src):
            lines = path.read_text(encoding="utf-8").split("\n")
            rel = path.relative_to(ROOT)
            if len(lines) > MAX_FILE:
                found.append(f"file {rel} {len(lines)} lines")
            found += long_functions(rel, lines)
        found += circles(crate, src)
    return found


def key(line):
    # A file or function may change length and still be the same offender.
    return re.sub(r" \d+ lines$", "", line)


def main(argv):
    found = offenders()
    if "--update" in argv:
        BASELINE.write_text(
            "# Offenders of scripts/code-shape.py as they stand; this list may only shrink.\n"
            + "".join(f"{line}\n" for line in sorted(found)),
            encoding="utf-8",
        )
        print(f"code shape: {len(found)} offenders recorded")
        return 0
    known = {key(l) for l in BASELINE.read_text(encoding="utf-8").splitlines() if l and not l.startswith("#")}
    new = [line for line in found if key(line) not in known]
    mended = sorted(known - {key(line) for line in found})
    if mended:
        print("code shape: mended since the baseline (scripts/code-shape.py --update drops them):")
        for line in mended:
            print(f"  {line}")
    if new:
        print(f"code shape: new offenders (files over {MAX_FILE} lines, functions over {MAX_FN}, import circles):")
        for line in new:
            print(f"  {line}")
        return 1
    print(f"code shape: {len(found)} known offenders, none new")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
