"""The silent-hit latency plot (log-log, cache size vs median per call)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.libs import MSAL, TOKENSMITH

__all__ = ["PLOT_ROWS", "plot_silent_hit", "series"]

PLOT_ROWS = {
    "silent_hit_subset": "silent hit, subset of cached scopes",
    "silent_hit_exact": "silent hit, exact cached scopes",
}
_STYLE = {MSAL: ("tab:red", "MSAL Python 1.39"), TOKENSMITH: ("tab:blue", "tokensmith")}


def series(results: Sequence[dict[str, Any]], row: str, lib: str) -> tuple[list[int], list[float]]:
    """Sizes and median microseconds of ``lib``'s ok cells for ``row``."""
    points = sorted(
        (r["size"], r["cells"][lib]["value"] / 1e3)
        for r in results
        if r["row"] == row and r["size"] and r["cells"].get(lib, {}).get("status") == "ok"
    )
    return [size for size, _ in points], [value for _, value in points]


def plot_silent_hit(results: Sequence[dict[str, Any]], path: Path) -> bool:
    """Draw the plot to ``path`` (PNG). Returns ``False`` when there is nothing to draw."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4.5), dpi=120)
    drawn = 0
    for lib, (colour, label) in _STYLE.items():
        for row, dash in (("silent_hit_subset", "-"), ("silent_hit_exact", "--")):
            title = PLOT_ROWS[row]
            sizes, values = series(results, row, lib)
            if sizes:
                axes.plot(sizes, values, dash, marker="o", color=colour, label=f"{label}: {title}")
                drawn += 1
    if not drawn:
        pyplot.close(figure)
        return False
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("users in the cache")
    axes.set_ylabel("median latency per call (us)")
    axes.set_title("acquire_token_silent cache hit vs cache size")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    pyplot.close(figure)
    return True
