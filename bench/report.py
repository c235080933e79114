"""The printed table and ``results.json``."""

from __future__ import annotations

import json
from pathlib import Path

from bench.rows import Row

HEADERS = ["section", "name", "ours", "baseline", "base time", "ratio", "target", "met",
           "check", "note"]
SCHEMA_VERSION = 1


def table(rows: list[Row]) -> str:
    """Rows as aligned text columns; numbers are right-aligned."""
    cells = [HEADERS] + [row.cells() for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADERS))]
    right = {"ours", "base time", "ratio"}

    def line(values):
        parts = [value.rjust(width) if header in right else value.ljust(width)
                 for header, value, width in zip(HEADERS, values, widths)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(HEADERS), rule] + [line(values) for values in cells[1:]])


def summary(rows: list[Row]) -> str:
    """``12 of 14 targets met; missed: layers maxpool ..., ...``."""
    judged = [row for row in rows if row.met is not None]
    missed = [f"{row.section} {row.name}" for row in judged if not row.met]
    text = f"{len(judged) - len(missed)} of {len(judged)} targets met"
    return text + (f"; missed: {', '.join(missed)}" if missed else "")


def document(*, machine: dict, settings: dict, rows: list[Row], skipped: list,
             seconds: float) -> dict:
    """Everything ``results.json`` holds."""
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "python -m bench",
        "machine": machine,
        "settings": settings,
        "seconds": seconds,
        "rows": [row.to_dict() for row in rows],
        "skipped": [item.to_dict() for item in skipped],
        "summary": summary(rows),
    }


def write_json(path: Path, data: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
