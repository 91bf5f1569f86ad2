"""A tiny run of the harness (1 user, few iterations), the runner's error handling,
the report, the targets verdicts and the page, so CI keeps the bench working."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from bench import page, report
from bench.libs import (
    MSAL,
    TOKENSMITH,
    BenchSetupError,
    Library,
    load_library,
    load_msal,
    load_tokensmith,
)
from bench.netguard import NetworkForbiddenError, network_forbidden
from bench.scenarios import ALL, run_all, run_scenario
from bench.scenarios.base import Cell, Context
from bench.timing import Settings

ROOT = Path(__file__).resolve().parents[3]
TINY = Settings(repeats=1, warmup=1, budget_s=0.0005, max_iterations=3, max_cell_s=1.0)


def _tiny_context() -> Context:
    return Context(TINY, process_runs=1, cli_runs=1, msal_fill_limit=1, threads=4,
                   token_latency=0.001)  # fmt: skip


def _scenario(key: str) -> Any:
    return next(s for s in ALL if key in {row.key for row in s.rows})


@pytest.mark.parametrize(
    "key",
    ["silent_hit_subset", "silent_refresh_cpu", "get_accounts", "cc_hit", "threads_requests"],
)
def test_one_scenario_runs_on_msal_with_one_user(key: str) -> None:
    with network_forbidden():
        cells = run_scenario(_scenario(key), load_msal(), 1, _tiny_context())
    assert all(cell.status == "ok" for cell in cells.values()), cells
    assert all(cell.value is not None and cell.value > 0 for cell in cells.values())


def test_the_index_build_row_times_one_build_per_load_beside_the_parse() -> None:
    with network_forbidden():
        cells = run_scenario(_scenario("load_build_indexes"), load_tokensmith(), 1, _tiny_context())
    cell = cells["load_build_indexes"]
    assert cell.status == "ok" and cell.value is not None and cell.value > 0, cell
    assert cell.runs.endswith("x1")  # one build per repeat, each on its own load
    assert "json.loads" in cell.note and "build / parse = " in cell.note


@pytest.mark.parametrize("key", ["load_first_lookup", "load_first_accounts", "load_first_cc"])
def test_a_first_lookup_row_times_one_call_per_load_right_after_it(key: str) -> None:
    with network_forbidden():
        cells = run_scenario(_scenario(key), load_tokensmith(), 1, _tiny_context())
    cell = cells[key]
    assert cell.status == "ok" and cell.value is not None and cell.value > 0, cell
    # one call per repeat, on its own load, and more repeats than configured (20
    # loads per configured repeat for a cache this small)
    assert cell.runs == "20x1", cell.runs


def test_a_failing_library_gets_error_cells_and_a_missing_one_na() -> None:
    broken = Library("broken", SimpleNamespace())  # type: ignore[arg-type]
    cells = run_scenario(_scenario("cc_hit"), broken, 1, _tiny_context())
    assert cells["cc_hit"].status == "error"
    assert "AttributeError" in cells["cc_hit"].note
    absent = Library(TOKENSMITH, SimpleNamespace(), missing="façade not available")  # type: ignore[arg-type]
    assert run_scenario(_scenario("cc_hit"), absent, 1, _tiny_context())["cc_hit"].status == "n/a"


def test_a_library_returning_the_wrong_token_gets_no_figure() -> None:
    msal = load_msal()

    class Liar:
        def __getattr__(self, name: str) -> Any:
            return getattr(msal.module, name)

        def ConfidentialClientApplication(self, *args: Any, **kwargs: Any) -> Any:
            return SimpleNamespace(acquire_token_for_client=lambda scopes: {
                "access_token": "forged", "token_source": "cache"})  # fmt: skip

    liar = Library("liar", Liar())  # type: ignore[arg-type]
    with network_forbidden():
        cells = run_scenario(_scenario("cc_hit"), liar, 1, _tiny_context())
    assert cells["cc_hit"].status == "error"
    assert "different access token" in cells["cc_hit"].note


def test_run_all_orders_rows_and_skips_msal_fill_above_the_limit() -> None:
    msal = load_msal()
    chosen = [_scenario("cc_fill"), _scenario("cc_hit")]
    with network_forbidden():
        results = run_all([msal], [2], _tiny_context(), scenarios=chosen)
    assert [(r.row.key, r.size) for r in results] == [("cc_fill", 2), ("cc_hit", 2)]
    assert results[0].cells[MSAL].status == "skipped"
    assert results[1].cells[MSAL].status == "ok"


def test_network_guard_refuses_and_restores() -> None:
    with network_forbidden(), pytest.raises(NetworkForbiddenError):
        socket.create_connection(("192.0.2.1", 9), timeout=0.1)
    assert socket.create_connection.__name__ == "create_connection"


def test_library_loading_errors_are_clear() -> None:
    with pytest.raises(BenchSetupError, match="unknown library"):
        load_library("requests")
    assert load_library(MSAL).version == "1.39.0"


def _row(key: str, size: int | None, msal: float, ours: float | None) -> dict[str, Any]:
    ok = {"status": "ok", "runs": "1x1", "note": ""}
    mine = {**ok, "value": ours} if ours is not None else {"status": "n/a", "note": "missing"}
    cells = {MSAL: {**ok, "value": msal}, TOKENSMITH: mine}
    return {"row": key, "title": key, "unit": "ns", "size": size, "cells": cells}


def _document(ours: float | None) -> dict[str, Any]:
    other = None if ours is None else 5e3
    results = [
        _row("silent_hit_subset", 10_000, 5.3e6, ours),
        _row("cc_hit", 10_000, 13e3, other),
        _row("import", None, 110e6, None if ours is None else 12e6),
    ]
    meta = {
        "date": "d",
        "command": "python -m bench",
        "python": "3.11",
        "implementation": "CPython",
        "platform": "Linux",
        "cpu": "cpu",
        "nproc": 2,
        "git_commit": "abc",
        "libraries": {MSAL: "1.39.0", TOKENSMITH: "0.1.0"},
        "sizes": [10_000],
        "settings": {},
        "unavailable": {} if ours else {TOKENSMITH: "façade missing"},
    }
    return {"meta": meta, "results": results}


def test_targets_are_marked_from_the_measured_figures() -> None:
    verdicts = {
        v["target"]: v["verdict"] for v in report.evaluate_targets(_document(10e3)["results"])
    }
    assert verdicts["silent hit, subset of cached scopes"] == "met"
    assert verdicts["client-credentials hit"] == "not met"  # 5 us > 4 us
    assert verdicts["import tokensmith"] == "met"
    assert verdicts["get_accounts()"].startswith("not measured")
    missing = report.evaluate_targets(_document(None)["results"])
    assert all(v["verdict"] != "met" for v in missing)


def test_table_and_page_show_the_figures_and_ratio() -> None:
    document = _document(10e3)
    text = report.text_table(document["results"])
    assert "5.3 ms" in text and "10 us" in text and "530x" in text
    markdown = page.render(document)
    assert "| silent hit, subset of cached scopes | <= 20 us | 10 us | met |" in markdown
    assert "img/silent_hit_vs_size.png" in markdown
    assert "not measurable" in page.render(_document(None))


def test_command_line_tiny_run_writes_results(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    argv = [sys.executable, "-m", "bench", "--quick", "--sizes", "1", "--no-plot",
            "--only", "silent_hit_exact,get_accounts_username", "--results", str(out)]  # fmt: skip
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "silent hit, exact cached scopes" in done.stdout
    document = json.loads(out.read_text(encoding="utf-8"))
    msal_cells = [r["cells"][MSAL] for r in document["results"]]
    assert [c["status"] for c in msal_cells] == ["ok", "ok"]
    assert document["meta"]["libraries"][MSAL] == "1.39.0"


def test_bad_command_line_values_fail_clearly() -> None:
    done = subprocess.run([sys.executable, "-m", "bench", "--sizes", "ten"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert "sizes must be integers" in done.stderr


def test_cell_of_measurement() -> None:
    from bench.timing import Measurement

    cell = Cell.of(Measurement(5.0, (4.0, 5.0, 6.0), 10, "wall"))
    assert (cell.status, cell.value, cell.runs) == ("ok", 5.0, "3x10")


@pytest.mark.parametrize(("n", "k"), [(1, 64), (64, 64), (1_000, 64), (100_000, 64), (10, 3)])
def test_spread_is_distinct_and_every_prefix_samples_the_whole_range(n: int, k: int) -> None:
    from bench.scenarios.base import spread

    picks = spread(n, k)
    assert len(picks) == min(n, k) == len(set(picks))
    assert all(0 <= i < n for i in picks)
    if n >= 1_000:
        for prefix in (8, 12, 64):
            mean = sum(picks[:prefix]) / prefix
            assert 0.35 * n < mean < 0.65 * n, (prefix, mean)


def test_a_probe_process_refuses_every_connection_for_good() -> None:
    import subprocess
    import sys

    script = (
        "import socket, sys\n"
        "from bench.netguard import NetworkForbiddenError, forbid_network_for_good\n"
        "forbid_network_for_good()\n"
        "for call in (lambda: socket.create_connection(('127.0.0.1', 9)),\n"
        "             lambda: socket.getaddrinfo('localhost', 80)):\n"
        "    try:\n"
        "        call()\n"
        "    except NetworkForbiddenError:\n"
        "        continue\n"
        "    sys.exit('not refused')\n"
        "print('refused')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "refused", done.stderr


@pytest.mark.parametrize("library", ["tokensmith", "msal"])
def test_a_probe_loads_no_harness_module_beyond_the_light_ones(
    library: str, tmp_path: Path
) -> None:
    """The CLI rows time a whole probe process: the harness must not import
    dataclasses, the fake endpoint or the cache generator there."""
    import time

    from bench import cachegen

    generated = cachegen.generate_user_cache(3, now=int(time.time()))
    path = tmp_path / "cache.json"
    path.write_text(generated.text_at(int(time.time())), encoding="utf-8")
    script = (
        "import json, sys\n"
        "from bench.probe import silent_token_from_file\n"
        f"outcome = silent_token_from_file({library!r}, {str(path)!r}, "
        f"{generated.users[1].username!r})\n"
        "print(outcome)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    outcome, modules = done.stdout.strip().splitlines()[-2:]
    assert outcome == "ok", done.stderr[-2000:]
    loaded = set(json.loads(modules))
    harness = {m for m in loaded if m.startswith("bench")}
    assert harness == {"bench", "bench.ids", "bench.libs", "bench.netguard", "bench.probe"}
    if library == "tokensmith":
        assert "dataclasses" not in loaded
