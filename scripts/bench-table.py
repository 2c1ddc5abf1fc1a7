#!/usr/bin/env python3
"""Prints the figures of a `make bench` run (`alongside-bench --json FILE`) as a Markdown table,
the README's; with two files, the second run beside the first and the change.

    scripts/bench-table.py bench.json [earlier.json]
"""

import json
import sys


def rows(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    return doc, {(r["path"], r["figure"]): r for r in doc["figures"]}


def number(value, unit):
    if unit in ("ms", "s"):
        if value < 10:
            return f"{value:,.2f} {unit}"
        return f"{value:,.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}"
    return f"{value:,.0f} {unit}"


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    doc, now = rows(argv[1])
    before = rows(argv[2])[1] if len(argv) == 3 else None
    print(f"`{doc['command']}` on {doc['cores']} cores\n")
    if before is None:
        print("| path | figure | value |")
        print("|---|---|---|")
    else:
        print("| path | figure | value | before | change |")
        print("|---|---|---|---|---|")
    for (path, figure), r in now.items():
        cells = [path, figure, number(r["value"], r["unit"])]
        if before is not None:
            old = before.get((path, figure))
            if old is None:
                cells += ["", ""]
            else:
                change = (r["value"] - old["value"]) / old["value"] * 100 if old["value"] else 0.0
                cells += [number(old["value"], old["unit"]), f"{change:+.0f}%"]
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
