"""Render docs/performance.md from one results document (``--write-docs``).

Every figure on the page comes from the results file of a single run; nothing is typed
in by hand. The fixed text explains the method and how to reproduce it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench import report

__all__ = ["render"]

_TRADE_OFFS = """\
## Where the design costs something

tokensmith answers lookups from secondary indexes over the cache (see
docs/architecture.md), so a long-running process (a web app, a daemon, a desktop app)
never scans the cache on a silent call. After `deserialize()` nothing is built: each
index is built from its one section on the first lookup that needs it, and a user's
first few token lookups compare `home_account_id` only, so a CLI or a web request that
loads a cache and makes a lookup or two pays little (the "after a load" rows). The
rows "deserialize() + first get_accounts(username)" and "CLI process" show that path;
the other rows show the indexed one. "After a load: build every index" is what all
those lazy builds cost together (`build_indexes()`, which a service may call after a
load), timed once per repeat right after its own `deserialize()`, beside `json.loads` of
the same text; its goal is at most 0.3x the parse. `serialize()` writes the same JSON as MSAL
(`json.dumps(indent=4)`), so it costs the same.

Persistent stores (`bench/scenarios/stores.py`; the MSAL column is msal-extensions
1.3.1's `PersistedTokenCache(FilePersistence)` on msal 1.39): with SQLite a process reads
only the rows of the user it serves, so "CLI process, persisted cache: SQLite" stays
near the interpreter's and the imports' cost at any size, while a file store (either
library's) parses the whole file. Its goal is at most 30 ms beyond interpreter start at
10,000 users (the notes below give the figure beyond it). The store's own share is the
in-process row (under 1 ms); the rest is importing. A process answered from its cache
imports only what that needs: grants, broker, DPoP and the refresh machinery load on
first use (`tokensmith._lazy`), the value types it loads are named tuples, not
dataclasses, its loggers are made only when something logs, and it runs no `compile()`
(no regular expression, no `urllib.parse`, no forward reference; see "Import cost" in
docs/architecture.md).
The SQLite cell's note also gives the probe's floor, measured in the same run
(`python -m bench.storeprobe floor <db>`): the standard-library modules tokensmith's
probe loads (`typing` with `re`, `enum`, `contextlib` and `collections`, `sqlite3`
with `datetime`, `json`, `threading`...), one query on the database and the
interpreter's exit; tokensmith's own modules (about 70 on that path, each an import of
a fraction of a millisecond, their objects then collected at exit) come on top of it.
Counted with valgrind (callgrind, `PYTHONHASHSEED=0`, byte code cached) at 10,000
users at 5a19563: `python -c pass` runs 39.5M instructions, the floor 70.5M more, the
probe 142.1M more (169.6M more before 518c018 and 5a19563, which took `urllib.parse`,
`ipaddress`, `base64` and every run-time `compile()` off that path). So tokensmith's
own share is about 72M instructions: its ~70 modules (about 100 classes), the query and
the lookup (under 1 ms).

After a load, the first `get_accounts()` builds one read-only account per user
(tokensmith's accounts are handed out again by later calls, so a warm `get_accounts()`
costs microseconds at any size). It builds them with the cyclic collector paused, as
the index build does: at 100,000 users a collection every 700 new accounts, each
traversing the heap, made that call slower than MSAL's. The collection those objects
cost still runs once, after the call (about 45 ms at 100,000 users on this machine);
MSAL's plain dicts of strings are not tracked by the collector, so it pays none.

"OBO API, N users in turn: one call" is slower than MSAL's: each call is a miss, and
tokensmith's path from the call to the token endpoint and back (flows, the transport
stack's retry and throttle, the cache write with its indexes, the bound's
bookkeeping) runs more Python than MSAL's. Against a real identity provider the
network dominates such a call; the bound is the point of the row.

Processes run with byte code cached (`PYTHONPYCACHEPREFIX`, even where
`PYTHONDONTWRITEBYTECODE` is set), as an installed library runs. On a small shared
machine the fresh-process rows move by up to a third from one run to the next, for
both libraries alike (interpreter start included): compare them within one run. The refresh row is
noisy at 10,000 and 100,000 users: a write into a large dict makes the cyclic
collector traverse it again at its next collection, and whether that collection falls
inside the 200 timed calls varies from run to run (for MSAL too).
"""

_METHOD = """\
## Method

- One process runs both libraries on the **same cache contents**: the bench generates
  an MSAL-format JSON cache (seeded, so every run builds the same one) and each
  library's `SerializableTokenCache.deserialize()` loads that same text. User caches
  hold, per user, an Account, an IdToken, an AccessToken and a RefreshToken of one
  public client in one tenant (`https://login.microsoftonline.com/<tenant-guid>`, so
  the realm is the tenant GUID); app caches hold one app-only AccessToken per resource.
- Both libraries get the **same in-process `http_client`** (`bench/fakehttp.py`), which
  answers OIDC discovery, instance discovery and the token endpoint, and counts token
  requests. Apps are built with `instance_discovery=False`. Sockets and DNS are
  forbidden in the bench process and in the CLI probes (`bench/netguard.py`), so
  neither library can reach the network.
- Medians of repeated runs, warm-up excluded (`bench/timing.py`): the number of calls
  per run is sized to a time budget, so a 60 ms MSAL call runs a few times and a 1 us
  call thousands of times; very slow cells (MSAL at 100k) also get fewer repeats. The
  `runs` column gives *repeats x calls per repeat* for MSAL / tokensmith.
- Calls cycle through accounts (or resources) spread evenly over the cache's insertion
  order, so a linear scan costs its average, not its best case.
- Every figure is checked before it is kept: a cache hit must return the cached token
  with `token_source == "cache"` and send no request; a refresh must return the token
  the fake endpoint issued and send exactly one refresh request. A library that fails a
  check gets an `error` cell, never a number.
- The silent refresh path is measured in **CPU time** (`time.process_time_ns`): the
  access token has two minutes left (under the 5-minute margin both libraries apply),
  the refresh token is valid, and the endpoint's answers are prepared before timing.
  Each run reloads the cache so every call refreshes an untouched user.
- "32 threads": 32 threads released together by a barrier call
  `acquire_token_for_client` for the same token, absent from the cache; the endpoint
  answers after 20 ms. The table gives the token requests sent and the wall time
  until every thread has its token.
- `import`: a fresh interpreter times `import <library>` around the import statement
  (start-up excluded). CLI process: a fresh `python -m bench.probe` loads the cache
  file, finds the account with `get_accounts(username=...)` and gets a silent token;
  the whole process is timed, interpreter start-up included.
- Async rows: tokensmith runs through `tokensmith.aio` over an in-process
  `http_client` whose `get`/`post` are coroutines (used directly, no worker thread);
  each timed run awaits its calls in a loop inside one event loop. MSAL Python has no
  async API, so its cells read `n/a`. "1,000 coroutines" times one `asyncio.gather` of
  1,000 `acquire_token_silent` cache hits; "100 coroutines, one expired token" counts
  the refresh requests sent when 100 coroutines ask at once (endpoint latency 20 ms).
- "async client-credentials hit" puts azure-identity's
  `azure.identity.aio.ClientSecretCredential.get_token` beside tokensmith's
  `acquire_token_for_client`: each starts with an empty cache, one miss answered by
  the fake endpoint primes the token, then the hits are timed and the endpoint must
  have seen exactly one request. azure-identity's requests go through an azure-core
  `AsyncHttpTransport` answered by the same fake (`bench/fakeazure.py`). Its column,
  "ratio azure-identity" = azure-identity / tokensmith, appears only for such rows.
- "fill cache" times filling an empty confidential-client cache with tokens for N
  resources (N cache misses). MSAL's fill is O(n^2), so it is not run above the limit
  given in the notes.
- "OBO API, N users in turn" (`bench/scenarios/bounded.py`): one confidential client
  calls `acquire_token_on_behalf_of` for N users in turn, each with a new assertion
  (a miss answered by the fake endpoint with an access token, a refresh token and the
  user's `client_info`). tokensmith's cache is `tokensmith.stores.BoundedTokenCache(
  max_entries=1000)`, MSAL's its `SerializableTokenCache`, which has no bound. One row
  counts the entries each cache holds afterwards, the other gives total time / N.
"""


def _markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _machine(meta: dict[str, Any]) -> str:
    libs = ", ".join(f"{name} {version}" for name, version in meta["libraries"].items())
    return "\n".join(
        [
            f"- Date: {meta['date']}; tokensmith commit `{meta['git_commit']}`",
            f"- CPU: {meta['cpu']}, {meta['nproc']} logical cores (`nproc`)",
            f"- Python: {meta['implementation']} {meta['python']} on {meta['platform']}",
            f"- Libraries: {libs}",
            f"- Sizes: {', '.join(f'{size:,}' for size in meta['sizes'])}",
            f"- Settings: `{meta['settings']}`",
        ]
    )


def _targets(results: Sequence[dict[str, Any]]) -> str:
    headers = ["target (10,000 users)", "goal", "tokensmith (this run)", "verdict",
               "MSAL (this run)", "MSAL (issue)"]  # fmt: skip
    keys = ("target", "limit", "tokensmith", "verdict", "msal_measured", "msal_reference")
    rows = [[v[key] for key in keys] for v in report.evaluate_targets(results)]
    return _markdown_table(headers, rows)


def _notes(meta: dict[str, Any], results: Sequence[dict[str, Any]]) -> str:
    unavailable = meta.get("unavailable", {})
    notes = [f"- {name}: {why}" for name, why in unavailable.items()]
    notes += [f"- n/a: {line}" for line in report.na_notes(results, skip=list(unavailable))]
    for result in results:
        for name, cell in result["cells"].items():
            if cell.get("note") and cell["status"] != "n/a":
                size = "-" if result["size"] is None else f"{result['size']:,}"
                notes.append(
                    f"- {result['title']} at {size}, {name}: {cell['status']}: {cell['note']}"
                )
    return "\n".join(notes) if notes else "- none"


def render(document: dict[str, Any]) -> str:
    """The whole Markdown page for one results document."""
    meta, results = document["meta"], document["results"]
    unavailable = meta.get("unavailable", {})
    status = (
        "**tokensmith was not measurable in this run** "
        f"({'; '.join(unavailable.values())}): its cells read `n/a` and no target is "
        "marked met. Rerun the command once the façade is in place."
        if "tokensmith" in unavailable
        else "All tokensmith figures below come from the run described here."
    )
    table = _markdown_table(report.headers(results), report.table_rows(results))
    return f"""\
# Performance: tokensmith vs MSAL Python 1.39

Every performance claim tokensmith makes is a ratio against MSAL Python 1.39 measured in
the same run, on the same cache contents, through the same in-process transport.
{status}

Reproduce (a fresh clone, after `make venv`):

```
make bench                      # = .venv/bin/python -m bench   (1k, 10k, 100k users)
.venv/bin/python -m bench --quick          # 1k and 10k, fewer repeats
.venv/bin/python -m bench --write-docs     # also regenerate this page and the plot
```

This page was generated by `{meta["command"]}`.

## Machine

{_machine(meta)}

## Targets (at 10,000 users in the cache)

{_targets(results)}

## Results

Ratio = MSAL median / tokensmith median (how many times faster, or how many times fewer
requests). Times are per call unless the row says otherwise ("total", "wall time",
whole process).

{table}

![silent-hit latency against cache size](img/silent_hit_vs_size.png)

### Notes from this run

{_notes(meta, results)}

{_TRADE_OFFS}
{_METHOD}"""
