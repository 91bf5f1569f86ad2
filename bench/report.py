"""Results as data: the plain-text table, the JSON file, and the targets check.

The JSON file is the source of truth: the table, the plot and docs/performance.md are
all rendered from it, so the page always shows the figures of one real run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.libs import MSAL, TOKENSMITH
from bench.scenarios import Result
from bench.scenarios.base import COUNT

__all__ = [
    "TARGETS",
    "Target",
    "evaluate_targets",
    "format_value",
    "load_results",
    "ratio",
    "results_to_json",
    "table_rows",
    "text_table",
]


@dataclass(frozen=True, slots=True)
class Target:
    """A stated goal for tokensmith, with the MSAL figure given in the issue."""

    row: str
    size: int | None
    limit_ns: float
    label: str
    limit_text: str
    msal_reference: str


TARGETS = (
    Target("silent_hit_subset", 10_000, 20e3, "silent hit, subset of cached scopes",
           "<= 20 us", "5.3 ms"),
    Target("cc_hit", 10_000, 4e3, "client-credentials hit", "<= 4 us", "13 us"),
    Target("silent_refresh_cpu", 10_000, 150e3, "silent refresh path, CPU excl. network",
           "<= 150 us", "8.2 ms"),
    Target("get_accounts", 10_000, 3e6, "get_accounts()", "<= 3 ms", "14 ms"),
    Target("import", None, 30e6, "import tokensmith", "<= 30 ms", "110 ms"),
)  # fmt: skip


def format_value(value: float | None, unit: str) -> str:
    """``1234.0, "ns"`` -> ``"1.23 us"``; counts print as integers."""
    if value is None:
        return "-"
    if unit == COUNT:
        return f"{value:g}"
    for scale, suffix in ((1e9, "s"), (1e6, "ms"), (1e3, "us")):
        if value >= scale:
            return f"{value / scale:.3g} {suffix}"
    return f"{value:.0f} ns"


def ratio(result: dict[str, Any]) -> str:
    """MSAL / tokensmith (how many times tokensmith is faster or sends fewer requests)."""
    msal, ours = result["cells"].get(MSAL, {}), result["cells"].get(TOKENSMITH, {})
    if msal.get("status") != "ok" or ours.get("status") != "ok" or not ours.get("value"):
        return "-"
    value = msal["value"] / ours["value"]
    return f"{value:,.0f}x" if value >= 100 else f"{value:.3g}x"


def _cell_text(cell: dict[str, Any], unit: str) -> str:
    if cell.get("status") == "ok":
        return format_value(cell.get("value"), unit)
    return str(cell.get("status", "-"))


def table_rows(results: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Rows of strings: scenario, size, MSAL, tokensmith, ratio, runs."""
    rows = []
    for result in results:
        unit = result["unit"]
        msal = result["cells"].get(MSAL, {})
        ours = result["cells"].get(TOKENSMITH, {})
        size = result["size"]
        rows.append(
            [
                result["title"],
                "-" if size is None else f"{size:,}",
                _cell_text(msal, unit),
                _cell_text(ours, unit),
                ratio(result),
                f"{msal.get('runs') or '-'} / {ours.get('runs') or '-'}",
            ]
        )
    return rows


HEADERS = ["scenario", "size", "MSAL 1.39 median", "tokensmith median", "ratio", "runs"]


def text_table(results: Sequence[dict[str, Any]]) -> str:
    """The fixed-width table printed on stdout."""
    rows = [HEADERS, *table_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    lines = []
    for number, row in enumerate(rows):
        cells = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells))
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def results_to_json(results: Sequence[Result]) -> list[dict[str, Any]]:
    """Plain data for the JSON file."""
    return [
        {
            "row": r.row.key,
            "title": r.row.title,
            "unit": r.row.unit,
            "size": r.size,
            "cells": {name: asdict(cell) for name, cell in r.cells.items()},
        }
        for r in results
    ]


def load_results(path: Path) -> dict[str, Any]:
    """Read a results file written by the bench.

    Raises:
        ValueError: the file is not a bench results document.
    """
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or "results" not in document or "meta" not in document:
        raise ValueError(f"{path} is not a bench results file")
    return document


def _find(results: Sequence[dict[str, Any]], row: str, size: int | None) -> dict[str, Any] | None:
    for result in results:
        if result["row"] == row and result["size"] == size:
            return result
    return None


def evaluate_targets(results: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """For each target: tokensmith's and MSAL's figures of this run, and met / not met."""
    verdicts = []
    for target in TARGETS:
        found = _find(results, target.row, target.size)
        cells = found["cells"] if found else {}
        ours, msal = cells.get(TOKENSMITH, {}), cells.get(MSAL, {})
        if found is None:
            verdict = "not measured (size not in this run)"
        elif ours.get("status") == "ok":
            verdict = "met" if ours["value"] <= target.limit_ns else "not met"
        else:
            verdict = f"not measured (tokensmith: {ours.get('status', 'missing')})"
        verdicts.append(
            {
                "target": target.label,
                "size": "-" if target.size is None else f"{target.size:,}",
                "limit": target.limit_text,
                "tokensmith": _cell_text(ours, "ns") if found else "-",
                "msal_measured": _cell_text(msal, "ns") if found else "-",
                "msal_reference": target.msal_reference,
                "verdict": verdict,
            }
        )
    return verdicts
