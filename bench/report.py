"""Results as data: the plain-text table, the JSON file, and the targets check.

The JSON file is the source of truth: the table, the plot and docs/performance.md are
all rendered from it, so the page always shows the figures of one real run.

The table always has MSAL's and tokensmith's columns. Each library of
:data:`EXTRA_LIBRARIES` (azure-identity) gets a median and a ratio column only when
some result has a cell for it; its other rows read "-" there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.libs import AZURE_IDENTITY, MSAL, TOKENSMITH
from bench.scenarios import Result
from bench.scenarios.base import COUNT

__all__ = [
    "EXTRA_LIBRARIES",
    "HEADERS",
    "TARGETS",
    "Target",
    "evaluate_targets",
    "extra_libraries",
    "format_value",
    "headers",
    "load_results",
    "na_notes",
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
    Target("dpop_proof", None, 100e3, "DPoP proof, ES256", "<= 100 us", "none (no DPoP)"),
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


EXTRA_LIBRARIES = (AZURE_IDENTITY,)
"""Libraries with a column only in tables that have cells for them."""

_LABELS = {AZURE_IDENTITY: "azure-identity"}


def ratio(result: dict[str, Any], other: str = MSAL) -> str:
    """``other`` / tokensmith (how many times tokensmith is faster or sends fewer
    requests); ``other`` is MSAL unless given."""
    theirs, ours = result["cells"].get(other, {}), result["cells"].get(TOKENSMITH, {})
    if theirs.get("status") != "ok" or ours.get("status") != "ok" or not ours.get("value"):
        return "-"
    value = theirs["value"] / ours["value"]
    return f"{value:,.0f}x" if value >= 100 else f"{value:.3g}x"


def _cell_text(cell: dict[str, Any], unit: str) -> str:
    if cell.get("status") == "ok":
        return format_value(cell.get("value"), unit)
    return str(cell.get("status", "-"))


def extra_libraries(results: Sequence[dict[str, Any]]) -> list[str]:
    """The :data:`EXTRA_LIBRARIES` that have a cell in some result, in order."""
    return [name for name in EXTRA_LIBRARIES if any(name in r["cells"] for r in results)]


def headers(results: Sequence[dict[str, Any]]) -> list[str]:
    """:data:`HEADERS`, plus a median and a ratio column per extra library present."""
    extra = []
    for name in extra_libraries(results):
        extra += [f"{_LABELS[name]} median", f"ratio {_LABELS[name]}"]
    return [*HEADERS[:5], *extra, HEADERS[5]]


def table_rows(results: Sequence[dict[str, Any]]) -> list[list[str]]:
    """Rows of strings: scenario, size, MSAL, tokensmith, ratio, (per extra library:
    median, ratio to tokensmith,) runs."""
    extras = extra_libraries(results)
    rows = []
    for result in results:
        unit = result["unit"]
        cells = result["cells"]
        msal, ours = cells.get(MSAL, {}), cells.get(TOKENSMITH, {})
        size = result["size"]
        row = [
            result["title"],
            "-" if size is None else f"{size:,}",
            _cell_text(msal, unit),
            _cell_text(ours, unit),
            ratio(result),
        ]
        runs = [msal.get("runs") or "-", ours.get("runs") or "-"]
        for name in extras:
            theirs = cells.get(name, {})
            row += [_cell_text(theirs, unit), ratio(result, name)]
            runs.append(theirs.get("runs") or "-")
        rows.append([*row, " / ".join(runs)])
    return rows


def na_notes(results: Sequence[dict[str, Any]], skip: Sequence[str] = ()) -> list[str]:
    """One line per (library, reason) of the "n/a" cells that carry a note, naming
    the rows, e.g. ``"msal: MSAL Python has no async API (rows: ...)"``.

    Args:
        results: the results of a run.
        skip: libraries left out (those unavailable for the whole run, whose reason
            the run's metadata already gives).
    """
    rows: dict[tuple[str, str], list[str]] = {}
    for result in results:
        for name, cell in result["cells"].items():
            if cell.get("status") == "n/a" and cell.get("note") and name not in skip:
                titles = rows.setdefault((name, cell["note"]), [])
                if result["title"] not in titles:
                    titles.append(result["title"])
    return [f"{name}: {note} (rows: {'; '.join(titles)})" for (name, note), titles in rows.items()]


HEADERS = ["scenario", "size", "MSAL 1.39 median", "tokensmith median", "ratio", "runs"]
"""The columns of a table without extra libraries (see :func:`headers`)."""


def text_table(results: Sequence[dict[str, Any]]) -> str:
    """The fixed-width table printed on stdout."""
    rows = [headers(results), *table_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
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
