"""Persistent stores beside MSAL + msal-extensions 1.3 (issue 11): the MSAL column is
msal-extensions' ``PersistedTokenCache(FilePersistence)`` on the real msal.

- CLI process: a fresh interpreter loads a persisted ``size``-user cache and gets one
  silent token (the whole process timed, as the ``cli_process`` row, but with byte
  code cached as an installed CLI has it; the note gives the interpreter's own start,
  ``python -c``, measured in the same run; the SQLite cell's note also gives
  ``bench.storeprobe floor``: the standard library that probe loads, one query, and
  the exit, the part of it that is not tokensmith's own code).
- Open + first silent, in process: the same work with the imports done, so the
  store's own cost shows (msal-extensions loads and parses the whole file).
- Persist one refreshed token: ``cache.add(event)`` of a refresh's token response
  into a persisted cache of ``size`` users (msal-extensions rewrites the whole file
  five times per response; the file store once; SQLite and Redis write five rows).
- Redis: L1 hit (a silent call answered from memory), L2 hit (the first silent call
  of a fresh process: one ``HGETALL``), on a redis-server this scenario starts on
  loopback; measured in a subprocess, as the bench process forbids every socket.
"""

from __future__ import annotations

import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from bench import cachegen
from bench.fakehttp import FakeHttpClient
from bench.libs import MSAL, TOKENSMITH, Library
from bench.scenarios.base import BenchCheckError, Cell, Context, Row, Scenario
from bench.scenarios.process import PROCESS_TIMEOUT_S, ROOT, process_env
from bench.storeprobe import persisted_cache, refresh_event
from bench.timing import Call, measure

__all__ = ["SCENARIOS"]

CLI_SQLITE = Row(
    "store_cli_sqlite", "CLI process, persisted cache: SQLite store (MSAL: msal-ext file)"
)
CLI_FILE = Row("store_cli_file", "CLI process, persisted cache: file store (MSAL: msal-ext file)")
OPEN_SQLITE = Row("store_open_sqlite", "persisted cache, in process: open + first silent (SQLite)")
OPEN_FILE = Row("store_open_file", "persisted cache, in process: open + first silent (file store)")
PERSIST_SQLITE = Row("store_persist_sqlite", "persist one refreshed token: SQLite (MSAL: msal-ext)")
PERSIST_FILE = Row("store_persist_file", "persist one refreshed token: file store (MSAL: msal-ext)")
PERSIST_REDIS = Row("store_persist_redis", "persist one refreshed token: Redis store")
REDIS_L1 = Row("redis_l1_hit", "Redis store: L1 hit (silent, from memory)")
REDIS_L2 = Row("redis_l2_hit", "Redis store: L2 hit (first silent call, one HGETALL)")


@contextmanager
def _persisted(lib: Library, store: str, size: int, ctx: Context) -> Iterator[tuple[Path, str]]:
    """A temp folder holding the ``size``-user cache as ``store`` keeps it; yields the
    path and the middle user's username."""
    cache = ctx.user_cache(size, cachegen.SUBSET_TARGET)
    text = cache.text_at(ctx.now())
    folder = Path(tempfile.mkdtemp(prefix="tokensmith-bench-store-"))
    try:
        path = folder / (
            "cache.db" if lib.name == TOKENSMITH and store == "sqlite" else "cache.json"
        )
        if path.suffix == ".db":
            from tokensmith.stores import SqliteStore

            sqlite = SqliteStore(path)
            sqlite.replace_all(json.loads(text))
            sqlite.close()
        else:
            path.write_text(text, encoding="utf-8")
            path.chmod(0o600)
        yield path, cache.users[size // 2].username
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _wall_ns(argv: list[str]) -> int:
    """Wall time of a fresh process that must print ``ok``. Byte code is cached (in a
    temp folder, ``PYTHONPYCACHEPREFIX``) even where ``PYTHONDONTWRITEBYTECODE`` is
    set, as an installed CLI runs; the warm-up run writes it."""
    env = process_env()
    start = time.perf_counter_ns()
    done = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=PROCESS_TIMEOUT_S
    )
    elapsed = time.perf_counter_ns() - start
    if done.returncode != 0 or done.stdout.strip() != "ok":
        detail = (done.stdout + done.stderr).strip().splitlines()
        raise BenchCheckError(f"process failed: {detail[-1] if detail else done.returncode}")
    return elapsed


def _interpreter_ns(ctx: Context) -> float:
    argv = [sys.executable, "-c", "print('ok')"]
    _wall_ns(argv)
    return statistics.median(_wall_ns(argv) for _ in range(ctx.cli_runs))


def _median_wall_ns(argv: list[str], ctx: Context) -> float:
    _wall_ns(argv)  # warm-up (byte code, page cache)
    return statistics.median(_wall_ns(argv) for _ in range(ctx.cli_runs))


def _cli_ns(lib: Library, store: str, size: int, ctx: Context) -> tuple[float, float | None]:
    """The probe's wall time, and (tokensmith on SQLite) the floor's on the same file."""
    with _persisted(lib, store, size, ctx) as (path, username):
        probe = [sys.executable, "-m", "bench.storeprobe"]
        wall = _median_wall_ns([*probe, "cli", lib.name, store, str(path), username], ctx)
        if lib.name != TOKENSMITH or store != "sqlite":
            return wall, None
        return wall, _median_wall_ns([*probe, "floor", str(path)], ctx)


def cli_rows(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """The CLI process on each store (MSAL: msal-extensions' file, for both rows)."""
    start = _interpreter_ns(ctx)
    note = f"interpreter start {start / 1e6:.1f} ms"
    runs = f"{ctx.cli_runs}x1"
    if lib.name == MSAL:
        value, _ = _cli_ns(lib, "file", size, ctx)
        cell = Cell("ok", value, runs, note)
        return {CLI_SQLITE.key: cell, CLI_FILE.key: cell}
    (sqlite, floor), (file, _) = _cli_ns(lib, "sqlite", size, ctx), _cli_ns(lib, "file", size, ctx)
    beyond = f"{note}; beyond it {(sqlite - start) / 1e6:.1f} ms"
    if floor is not None:
        beyond += f" (its stdlib floor, bench.storeprobe floor: {(floor - start) / 1e6:.1f} ms)"
    return {
        CLI_SQLITE.key: Cell("ok", sqlite, runs, beyond),
        CLI_FILE.key: Cell("ok", file, runs, f"{note}; beyond it {(file - start) / 1e6:.1f} ms"),
    }


def _open(lib: Library, store: str, size: int, ctx: Context) -> Cell:
    with _persisted(lib, store, size, ctx) as (path, username):
        http = FakeHttpClient()

        def factory() -> Call:
            def call(i: int) -> object:
                app = lib.public_app(persisted_cache(lib.name, store, str(path)), http)
                (account,) = app.get_accounts(username=username)
                result = app.acquire_token_silent(["User.Read"], account)
                if not isinstance(result, dict) or result.get("token_source") != "cache":
                    raise BenchCheckError("no cached token")
                return result

            return call

        return Cell.of(measure(factory, ctx.settings))


def open_rows(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """What the CLI row pays beyond imports: open the store, find the account, get
    the token (MSAL: msal-extensions loads and parses the whole file)."""
    if lib.name == MSAL:
        cell = _open(lib, "file", size, ctx)
        return {OPEN_SQLITE.key: cell, OPEN_FILE.key: cell}
    return {
        OPEN_SQLITE.key: _open(lib, "sqlite", size, ctx),
        OPEN_FILE.key: _open(lib, "file", size, ctx),
    }


def _persist(lib: Library, store: str, size: int, ctx: Context) -> Cell:
    if store == "file" and size > ctx.msal_fill_limit:
        return Cell(
            "skipped", note=f"rewrites the whole file; not run above {ctx.msal_fill_limit:,}"
        )
    with _persisted(lib, store, size, ctx) as (path, _):
        now = ctx.now()

        def factory() -> Call:
            cache = persisted_cache(lib.name, store, str(path))
            return lambda i: cache.add(refresh_event(size + i, now))  # type: ignore[attr-defined]

        return Cell.of(measure(factory, ctx.settings))


def persist_rows(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """One refresh's write-back into a persisted cache of ``size`` users."""
    if lib.name == MSAL:
        cell = _persist(lib, "file", size, ctx)
        return {PERSIST_SQLITE.key: cell, PERSIST_FILE.key: cell}
    return {
        PERSIST_SQLITE.key: _persist(lib, "sqlite", size, ctx),
        PERSIST_FILE.key: _persist(lib, "file", size, ctx),
    }


@contextmanager
def redis_server() -> Iterator[str]:
    """Debian's redis-server on a free loopback port (found by binding, which the
    bench's guard allows: it refuses connects and name resolution only)."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    folder = tempfile.mkdtemp(prefix="tokensmith-bench-redis-")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder, "--save", ""],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "Ready to accept connections" in line:
                break
        else:
            raise BenchCheckError("redis-server did not start (scripts/store-deps.sh)")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()
        shutil.rmtree(folder, ignore_errors=True)


def redis_rows(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """L1 and L2 hits and one refresh's write-back on Redis (tokensmith only)."""
    cache = ctx.user_cache(size, cachegen.SUBSET_TARGET)
    with tempfile.TemporaryDirectory(prefix="tokensmith-bench-") as tmp, redis_server() as url:
        path = Path(tmp) / "cache.json"
        path.write_text(cache.text_at(ctx.now()), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "bench.storeprobe", "redis", url, str(size), str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    if done.returncode != 0:
        raise BenchCheckError(f"redis probe failed: {(done.stderr or done.stdout)[-300:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        REDIS_L1.key: Cell("ok", found["l1"][0], found["l1"][1]),
        REDIS_L2.key: Cell("ok", found["l2"][0], found["l2"][1]),
        PERSIST_REDIS.key: Cell("ok", found["persist"][0], found["persist"][1]),
    }


SCENARIOS = (
    Scenario((CLI_SQLITE, CLI_FILE), cli_rows),
    Scenario((OPEN_SQLITE, OPEN_FILE), open_rows),
    Scenario((PERSIST_SQLITE, PERSIST_FILE), persist_rows),
    Scenario((REDIS_L1, REDIS_L2, PERSIST_REDIS), redis_rows, libraries=frozenset({TOKENSMITH})),
)
