"""Whole-process scenarios, each run in fresh interpreters.

- ``import`` time: a fresh ``python -c`` that times ``import <library>`` with
  ``perf_counter_ns`` around the import statement (interpreter start-up excluded).
- CLI-style process: ``python -m bench.probe`` loads the cache from a file and returns
  a silent token (see :mod:`bench.probe`); the whole process is timed, start-up
  included, as a user of a command-line tool would feel it.

The first run of each is discarded (it may compile byte code); the median of
``ctx.process_runs`` (import) or ``ctx.cli_runs`` (CLI) runs is reported.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from bench import cachegen
from bench.libs import Library
from bench.scenarios.base import BenchCheckError, Cell, Context, Row, Scenario

__all__ = ["SCENARIOS", "import_time_ns", "process_wall_ns"]

IMPORT = Row("import", "import <library> (fresh process)")
CLI = Row("cli_process", "CLI process: load cache file + silent token")

ROOT = Path(__file__).resolve().parents[2]
PROCESS_TIMEOUT_S = 300.0
_IMPORT_CODE = (
    "import time\nt = time.perf_counter_ns()\nimport {name}\nprint(time.perf_counter_ns() - t)\n"
)


PYCACHE = Path(tempfile.gettempdir()) / "tokensmith-bench-pycache"


def process_env() -> dict[str, str]:
    """The environment of a timed process: byte code cached (in a temp folder,
    ``PYTHONPYCACHEPREFIX``) even where ``PYTHONDONTWRITEBYTECODE`` is set, as an
    installed library runs; each row's warm-up run writes it, for both libraries."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def _run(argv: list[str]) -> tuple[int, str]:
    start = time.perf_counter_ns()
    done = subprocess.run(
        argv,
        cwd=ROOT,
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT_S,
        check=False,
    )
    elapsed = time.perf_counter_ns() - start
    if done.returncode != 0:
        detail = (done.stdout + done.stderr).strip().splitlines()
        raise BenchCheckError(f"process failed: {detail[-1] if detail else done.returncode}")
    return elapsed, done.stdout.strip()


def import_time_ns(name: str) -> int:
    """Nanoseconds one fresh interpreter spends in ``import <name>``."""
    _, out = _run([sys.executable, "-c", _IMPORT_CODE.format(name=name)])
    return int(out)


def process_wall_ns(argv: list[str]) -> int:
    """Wall time of a whole process; it must print ``ok`` and exit 0."""
    elapsed, out = _run(argv)
    if out != "ok":
        raise BenchCheckError(f"process answered {out!r}")
    return elapsed


def import_library(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """Import time of the library in fresh processes (size-independent)."""
    import_time_ns(lib.name)  # warm-up: byte-code compilation, file-system cache
    runs = [import_time_ns(lib.name) for _ in range(ctx.process_runs)]
    return {"": Cell("ok", statistics.median(runs), f"{len(runs)}x1")}


def cli_process(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """Whole CLI-style process against a cache file of ``size`` users."""
    cache = ctx.user_cache(size, cachegen.SUBSET_TARGET)
    user = cache.users[size // 2]
    with tempfile.TemporaryDirectory(prefix="tokensmith-bench-") as tmp:
        path = Path(tmp) / "cache.json"
        path.write_text(cache.text_at(ctx.now()), encoding="utf-8")
        argv = [sys.executable, "-m", "bench.probe", lib.name, str(path), user.username]
        process_wall_ns(argv)  # warm-up
        runs = [process_wall_ns(argv) for _ in range(ctx.cli_runs)]
    return {"": Cell("ok", statistics.median(runs), f"{len(runs)}x1")}


SCENARIOS = (
    Scenario((IMPORT,), import_library, sized=False),
    Scenario((CLI,), cli_process),
)
