"""``python -m bench``: tokensmith against MSAL Python 1.39, same run, same caches.

Prints the table (scenario, size, MSAL median, tokensmith median, ratio, runs), writes
the results to ``bench/.results/`` as JSON, draws ``docs/img/silent_hit_vs_size.png``,
and with ``--write-docs`` regenerates ``docs/performance.md`` from this run.

Examples::

    python -m bench                      # full run: 1k, 10k, 100k
    python -m bench --quick              # 1k and 10k, fewer repeats
    python -m bench --sizes 1000 --only silent_hit_subset,cc_hit
    python -m bench --from-results bench/.results/latest.json --write-docs
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import page, report
from bench.libs import (
    AZURE_IDENTITY,
    BenchSetupError,
    Library,
    load_azure_identity,
    load_msal,
    load_tokensmith,
)
from bench.netguard import forbid_network
from bench.plot import plot_silent_hit
from bench.scenarios import ALL, run_all
from bench.scenarios.base import Context
from bench.timing import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / ".results"
PLOT_PATH = ROOT / "docs" / "img" / "silent_hit_vs_size.png"
DOCS_PATH = ROOT / "docs" / "performance.md"
FULL_SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)


_MAX_SIZE = 1_000_000


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "").replace(",", "")) for part in text.split("/")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"sizes must be integers separated by '/': {text!r}"
        ) from None
    if not sizes or min(sizes) < 1 or max(sizes) > _MAX_SIZE:
        raise argparse.ArgumentTypeError(
            f"sizes must be between 1 and {_MAX_SIZE:,} (separate them with '/'): {text!r}"
        )
    return sizes


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k users, fewer repeats")
    parser.add_argument("--sizes", type=_sizes, help="cache sizes, e.g. 1000/10000/100000")
    parser.add_argument("--only", help="comma-separated row keys to run (see --list)")
    parser.add_argument("--list", action="store_true", help="list the row keys and exit")
    parser.add_argument("--msal-fill-limit", type=int, help="largest N for MSAL's O(n^2) fill")
    parser.add_argument("--no-plot", action="store_true", help="do not draw the PNG")
    parser.add_argument("--write-docs", action="store_true", help="regenerate docs/performance.md")
    parser.add_argument("--from-results", type=Path, help="render a saved results file; no run")
    parser.add_argument("--results", type=Path, help="where to write the JSON results")
    return parser.parse_args(argv)


def _context(args: argparse.Namespace) -> Context:
    if args.quick:
        settings = Settings(repeats=3, warmup=3, budget_s=0.05, max_cell_s=10.0)
        ctx = Context(settings, process_runs=5, cli_runs=3, msal_fill_limit=1_000)
    else:
        ctx = Context(Settings())
    if args.msal_fill_limit is not None:
        ctx.msal_fill_limit = args.msal_fill_limit
    return ctx


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_commit() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() or "unknown"


def _meta(libs: Sequence[Library], ctx: Context, sizes: Sequence[int], argv: Sequence[str]) -> Any:
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python -m bench", *argv]),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "nproc": os.cpu_count(),
        "git_commit": _git_commit(),
        "libraries": {lib.name: lib.version for lib in libs},
        "unavailable": {lib.name: lib.missing for lib in libs if lib.missing},
        "sizes": list(sizes),
        "settings": {
            "repeats": ctx.settings.repeats,
            "warmup": ctx.settings.warmup,
            "budget_s": ctx.settings.budget_s,
            "max_cell_s": ctx.settings.max_cell_s,
            "process_runs": ctx.process_runs,
            "cli_runs": ctx.cli_runs,
            "msal_fill_limit": ctx.msal_fill_limit,
            "threads": ctx.threads,
            "token_latency_s": ctx.token_latency,
        },
        "network": "sockets and DNS forbidden in the bench process and the CLI probes",
    }


def _run(args: argparse.Namespace, argv: Sequence[str]) -> dict[str, Any]:
    ctx = _context(args)
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    scenarios = ALL
    if args.only:
        wanted = {key.strip() for key in args.only.split(",")}
        scenarios = tuple(s for s in ALL if wanted & {row.key for row in s.rows})
        if not scenarios:
            raise BenchSetupError(f"no scenario matches --only {args.only!r} (see --list)")
    libs = [load_msal(), load_tokensmith()]
    if any(AZURE_IDENTITY in s.libraries for s in scenarios):  # its column, only if used
        libs.append(load_azure_identity())
    for lib in libs:
        if lib.missing:
            print(f"note: {lib.name}: {lib.missing}; its cells read n/a", file=sys.stderr)
    forbid_network()
    results = run_all(
        libs, sizes, ctx, scenarios=scenarios, progress=lambda m: print(f"  {m}", file=sys.stderr)
    )
    return {"meta": _meta(libs, ctx, sizes, argv), "results": report.results_to_json(results)}


def _save(document: dict[str, Any], path: Path | None) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = path or RESULTS_DIR / f"results-{stamp}.json"
    text = json.dumps(document, indent=2)
    target.write_text(text, encoding="utf-8")
    if path is None:  # an explicit --results path leaves latest.json alone
        (RESULTS_DIR / "latest.json").write_text(text, encoding="utf-8")
    return target


def _notes(results: Sequence[dict[str, Any]], unavailable: Sequence[str]) -> list[str]:
    notes = [f"n/a: {line}" for line in report.na_notes(results, skip=unavailable)]
    for result in results:
        for name, cell in result["cells"].items():
            if cell["status"] in ("error", "skipped") and cell.get("note"):
                size = "-" if result["size"] is None else f"{result['size']:,}"
                notes.append(
                    f"{result['title']} @ {size}, {name}: {cell['status']}: {cell['note']}"
                )
    return notes


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench (or render saved results); returns the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.list:
        width = max(len(row.key) for scenario in ALL for row in scenario.rows)
        for scenario in ALL:
            for row in scenario.rows:
                print(f"{row.key:{width}} {row.title}")
        return 0
    try:
        if args.from_results:
            document = report.load_results(args.from_results)
        else:
            document = _run(args, argv)
            print(f"results: {_save(document, args.results)}", file=sys.stderr)
    except (BenchSetupError, ValueError, OSError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    results = document["results"]
    print(report.text_table(results))
    print(
        "ratio = MSAL / tokensmith (ratio azure-identity = azure-identity / tokensmith).\n"
        "runs = repeats x calls per repeat (MSAL / tokensmith [/ azure-identity]);\n"
        "calls per repeat are sized to a time budget, so slow cells (e.g. MSAL at 100k)\n"
        "run fewer calls and, above a few seconds per repeat, fewer repeats."
    )
    for note in _notes(results, list(document["meta"].get("unavailable", {}))):
        print(f"  note: {note}")
    if not args.no_plot and plot_silent_hit(results, PLOT_PATH):
        print(f"plot: {PLOT_PATH.relative_to(ROOT)}", file=sys.stderr)
    if args.write_docs:
        DOCS_PATH.write_text(page.render(document), encoding="utf-8")
        print(f"page: {DOCS_PATH.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
