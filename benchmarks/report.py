"""Merge the saved runs (benchmarks/results/<python>.json) into the Markdown tables of docs/performance.md.

    python benchmarks/report.py [results/3.10.json ...]

Each cell is a median ratio from one run of bench.py on that Python: the case against
``loop.create_task`` (or against the baseline the row names) measured side by side.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def load(paths: list[Path]) -> list[dict[str, Any]]:
    runs = [json.loads(p.read_text()) for p in paths]
    return sorted(runs, key=lambda r: tuple(int(x) for x in r["python"].split(".")[:2]))


def cell(run: dict[str, Any], flavour: str, work: str, case: str, key: str) -> str:
    for e in run["timing"]:
        if (e["flavour"], e["work"], e["case"]) == (flavour, work, case):
            value = e.get(key)
            return "-" if value is None else f"{value:.2f}"
    return "-"


def table(runs: list[dict[str, Any]], flavour: str, work: str, key: str = "ratio") -> str:
    cases: list[str] = []
    for run in runs:
        for e in run["timing"]:
            same = (e["flavour"], e["work"]) == (flavour, work) and e["case"] not in cases
            if same and (key == "ratio" or e.get("vs")):
                cases.append(e["case"])
    pythons = [".".join(r["python"].split(".")[:2]) for r in runs]
    lines = ["| | " + " | ".join(pythons) + " |", "|---" * (len(runs) + 1) + "|"]
    for case in cases:
        label = f"`{case}`"
        if key == "ratio_vs":
            vs = next(
                e["vs"]
                for r in runs
                for e in r["timing"]
                if (e["flavour"], e["work"], e["case"]) == (flavour, work, case) and e["vs"]
            )
            label += f" ÷ `{vs}`"
        cells = [cell(r, flavour, work, case, key) for r in runs]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def absolute(runs: list[dict[str, Any]]) -> str:
    pythons = [".".join(r["python"].split(".")[:2]) for r in runs]
    lines = ["| | " + " | ".join(pythons) + " |", "|---" * (len(runs) + 1) + "|"]
    for flavour, work in [("asyncio", "instant"), ("asyncio", "suspend"), ("uvloop", "instant")]:
        row = []
        for r in runs:
            ns = next(
                (
                    e["ns"]
                    for e in r["timing"]
                    if (e["flavour"], e["work"], e["case"]) == (flavour, work, "loop.create_task")
                ),
                None,
            )
            row.append("-" if ns is None else f"{ns / 1000:.2f} µs")
        lines.append(f"| `loop.create_task`, {flavour}, {work} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def memory(runs: list[dict[str, Any]]) -> str:
    pythons = [".".join(r["python"].split(".")[:2]) for r in runs]
    lines = ["| bytes per pending task | " + " | ".join(pythons) + " |"]
    lines.append("|---" * (len(runs) + 1) + "|")
    for kind in ["bare Task", "create_task + set + discard", "taskwise.spawn"]:
        lines.append(f"| {kind} | " + " | ".join(f"{r['memory'][kind]:.0f}" for r in runs) + " |")
    extra = [r["memory"]["taskwise.spawn"] - r["memory"]["bare Task"] for r in runs]
    lines.append("| spawn - bare Task | " + " | ".join(f"{x:+.0f}" for x in extra) + " |")
    return "\n".join(lines)


def imports(runs: list[dict[str, Any]]) -> str:
    pythons = [".".join(r["python"].split(".")[:2]) for r in runs]
    lines = ["| ms | " + " | ".join(pythons) + " |", "|---" * (len(runs) + 1) + "|"]
    lines.append(
        "| `import asyncio` | "
        + " | ".join(f"{r['import']['asyncio_ms']:.1f}" for r in runs)
        + " |"
    )
    lines.append(
        "| added by `import taskwise` | "
        + " | ".join(f"{r['import']['added_ms']:.2f}" for r in runs)
        + " |"
    )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    paths = [Path(a) for a in argv] or sorted((HERE / "results").glob("3.*.json"))
    if not paths:
        raise SystemExit("no results: run `python benchmarks/bench.py --save` first")
    runs = load(paths)
    flavours = sorted(
        {(e["flavour"], e["work"]) for r in runs for e in r["timing"]},
        key=lambda fw: (["asyncio", "uvloop", "eager factory"].index(fw[0]), fw[1]),
    )
    print(
        "Runs: "
        + "; ".join(
            f"{r['python']} ({r['rounds']} rounds x {r['n']} tasks, uvloop {r['uvloop']})"
            for r in runs
        )
    )
    print()
    print("### Cost per task")
    print()
    print(absolute(runs))
    for flavour, work in flavours:
        what = {"instant": "finishes at once", "suspend": "suspends once"}[work]
        print()
        print(f"### {flavour} loop, a coroutine that {what}: ratio to `loop.create_task`")
        print()
        print(table(runs, flavour, work))
        pairs = table(runs, flavour, work, "ratio_vs")
        if pairs.count("\n") > 1:
            print()
            print(f"Head to head ({flavour}, {what}):")
            print()
            print(pairs)
    print()
    print("### Memory")
    print()
    print(memory(runs))
    print()
    print("### Import time")
    print()
    print(imports(runs))


if __name__ == "__main__":
    main(sys.argv[1:])
