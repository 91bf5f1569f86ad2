"""The CLI rows of the store scenario: the fresh-process probes and the floor the
SQLite cell's note reports beside tokensmith's own cost."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bench import cachegen
from bench.libs import load_tokensmith
from bench.scenarios.base import Context
from bench.scenarios.stores import CLI_FILE, CLI_SQLITE, cli_rows
from bench.storeprobe import FLOOR_MODULES
from bench.timing import Settings

ROOT = Path(__file__).resolve().parents[3]
TINY = Settings(repeats=1, warmup=1, budget_s=0.0005, max_iterations=3, max_cell_s=1.0)


def _sqlite_cache(folder: Path) -> tuple[Path, str]:
    """A two-user SQLite cache whose tokens are valid now (the probe's clock is the
    real one); its path and a username."""
    from tokensmith.stores import SqliteStore

    now = int(time.time())
    cache = cachegen.generate_user_cache(2, now=now)
    path = folder / "cache.db"
    store = SqliteStore(path)
    store.replace_all(json.loads(cache.text_at(now)))
    store.close()
    return path, cache.users[0].username


def _run(code: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_floor_loads_only_modules_the_tokensmith_sqlite_probe_loads(tmp_path: Path) -> None:
    path, username = _sqlite_cache(tmp_path)
    probe = _run(
        "import sys, bench.storeprobe as p; "
        f"print(p.cli('tokensmith', 'sqlite', {str(path)!r}, {username!r})); "
        "print(' '.join(sorted(sys.modules)))"
    )
    assert probe[0] == "ok"
    assert set(FLOOR_MODULES) <= set(probe[1:])

    floor = _run(
        f"import sys, bench.storeprobe as p; print(p.floor({str(path)!r})); "
        "print(' '.join(sorted(sys.modules)))"
    )
    assert floor[0] == "ok"
    assert not [name for name in floor[1:] if name.startswith(("tokensmith", "msal"))]


def test_the_sqlite_cell_reports_the_floor_and_the_file_cell_does_not(tmp_path: Path) -> None:
    ctx = Context(TINY, process_runs=1, cli_runs=1)
    cells = cli_rows(load_tokensmith(), 1, ctx)
    sqlite, file = cells[CLI_SQLITE.key], cells[CLI_FILE.key]
    assert sqlite.status == file.status == "ok"
    assert "stdlib floor, bench.storeprobe floor:" in sqlite.note
    assert "floor" not in file.note
