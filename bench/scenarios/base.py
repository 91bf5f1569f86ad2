"""What every scenario shares: result cells, the run context, and result checks.

A scenario is a function ``(library, size, context) -> {row_key: Cell}`` (a scenario
with a single row may use the key ``""``). It builds its
state from the context's generated caches (the same JSON text for both libraries),
checks that the library really did the work (a cache hit returns the expected token,
a refresh sends one request), and only then reports figures. A library that fails a
check gets an "error" cell, never a number.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench import cachegen
from bench.libs import MSAL, TOKENSMITH, Library
from bench.timing import Measurement, Settings

__all__ = [
    "COUNT",
    "TIME",
    "WARM_LOOKUPS",
    "BenchCheckError",
    "Cell",
    "Context",
    "Row",
    "Scenario",
    "accounts_by_home_id",
    "expect_token",
    "select_accounts",
    "spread",
    "warm_up_lookups",
]

TIME = "ns"
_GOLDEN = (5**0.5 - 1) / 2
COUNT = "count"


class BenchCheckError(RuntimeError):
    """A library's answer was not what the scenario requires (so no figure is kept)."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One library's result for one row and size.

    Attributes:
        status: ``"ok"``, ``"n/a"`` (library cannot be measured), ``"skipped"`` (not
            run on purpose, see ``note``) or ``"error"``.
        value: nanoseconds (per call, or per run for whole-operation rows) or a count.
        runs: how it was measured, e.g. ``"7x2000"`` (repeats x calls per repeat).
        note: reason for a non-ok status, or extra detail.
    """

    status: str
    value: float | None = None
    runs: str = ""
    note: str = ""

    @classmethod
    def of(cls, measurement: Measurement, note: str = "") -> Cell:
        """An ok cell from a timing measurement."""
        return cls("ok", measurement.median_ns, measurement.runs, note)


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table: a key, its label and its unit (:data:`TIME`/:data:`COUNT`)."""

    key: str
    title: str
    unit: str = TIME


@dataclass(frozen=True, slots=True)
class Scenario:
    """A scenario producing one or more rows.

    Attributes:
        rows: the rows it fills.
        run: ``run(library, size, context)`` returning a cell per row key.
        sized: ``False`` for scenarios that do not depend on the cache size (run once).
        libraries: names of the libraries it runs for; the others get no cell.
    """

    rows: tuple[Row, ...]
    run: Callable[[Library, int, Context], Mapping[str, Cell]]
    sized: bool = True
    libraries: frozenset[str] = frozenset({MSAL, TOKENSMITH})


@dataclass
class Context:
    """Settings and generated caches shared by the scenarios of one bench run.

    Generated caches are memoized for the current size only (a 100k cache is large).
    """

    settings: Settings
    process_runs: int = 11
    cli_runs: int = 5
    msal_fill_limit: int = 10_000
    threads: int = 32
    token_latency: float = 0.02
    spread_count: int = 64
    expiring_count: int = 200
    clock: Callable[[], float] = time.time
    _size: int = -1
    _memo: dict[tuple[str, str], Any] = field(default_factory=dict)

    def now(self) -> int:
        """Current epoch seconds, from the context's clock."""
        return int(self.clock())

    def _slot(self, size: int) -> None:
        if size != self._size:
            self._memo.clear()
            self._size = size

    def user_cache(self, size: int, target: str) -> cachegen.UserCache:
        """The generated user cache of ``size`` users for ``target`` (memoized)."""
        self._slot(size)
        key = ("user", target)
        if key not in self._memo:
            expiring = spread(size, self.expiring_count, offset=1)
            self._memo[key] = cachegen.generate_user_cache(
                size, now=self.now(), target=target, expiring=expiring
            )
        result: cachegen.UserCache = self._memo[key]
        return result

    def app_cache(self, size: int) -> cachegen.AppCache:
        """The generated app-only cache of ``size`` resources (memoized)."""
        self._slot(size)
        key = ("app", "")
        if key not in self._memo:
            self._memo[key] = cachegen.generate_app_cache(size, now=self.now())
        result: cachegen.AppCache = self._memo[key]
        return result


def spread(n: int, k: int, *, offset: int = 0) -> list[int]:
    """Up to ``k`` distinct indexes of ``range(n)``, in an order where every prefix is
    spread evenly (golden-ratio sequence).

    Slow cells run only a few calls per repeat, so cycling through these indexes from
    the start must already sample the whole cache: a linear scan then costs its
    average, not its best case. ``offset`` shifts them (so two spreads differ).
    """
    k = max(1, min(n, k))
    picks: list[int] = []
    seen: set[int] = set()
    for j in range(64 * k):
        index = (int((j * _GOLDEN) % 1.0 * n) + offset) % n
        if index not in seen:
            seen.add(index)
            picks.append(index)
            if len(picks) == k:
                return picks
    picks += [i for i in range(n) if i not in seen][: k - len(picks)]
    return picks


def expect_token(result: Any, secret: str | None, source: str) -> None:
    """Check a token result: an access token (``secret`` if given) from ``source``.

    Raises:
        BenchCheckError: the result is not such a token.
    """
    if not isinstance(result, dict) or "access_token" not in result:
        summary = result.get("error") if isinstance(result, dict) else type(result).__name__
        raise BenchCheckError(f"expected a token from the {source}, got {summary!r}")
    if result.get("token_source") != source:
        raise BenchCheckError(
            f"expected token_source {source!r}, got {result.get('token_source')!r}"
        )
    if secret is not None and result["access_token"] != secret:
        raise BenchCheckError("the library returned a different access token than cached")


def accounts_by_home_id(app: Any, wanted: Sequence[cachegen.User]) -> list[Any]:
    """Fetch the account objects of ``wanted`` users with one ``get_accounts()`` call.

    Raises:
        BenchCheckError: a wanted user is not among the accounts.
    """
    return select_accounts(app.get_accounts(), wanted)


def select_accounts(accounts: Sequence[Any], wanted: Sequence[cachegen.User]) -> list[Any]:
    """The accounts of ``wanted`` users, in order, from a ``get_accounts()`` answer
    (sync or awaited).

    Raises:
        BenchCheckError: a wanted user is not among the accounts.
    """
    found = {a.get("home_account_id"): a for a in accounts}
    try:
        return [found[user.home_account_id] for user in wanted]
    except KeyError as exc:
        raise BenchCheckError(f"account {exc.args[0]} not found by get_accounts()") from None


WARM_LOOKUPS = 8
"""Lookups made before timing a steady-state scenario on a freshly loaded cache."""


def warm_up_lookups(app: Any, user: cachegen.User) -> None:
    """Bring a freshly loaded app to its steady state before timing, the same calls for
    both libraries: a few ``get_accounts(username=...)`` lookups, then one
    ``token_cache.search`` of the user's access tokens, refresh tokens and the app's
    metadata. tokensmith builds each index on its first use (a one-time cost that the
    "after a load: first ..." and CLI rows show); MSAL just scans.

    Raises:
        BenchCheckError: the user is not found.
    """
    for _ in range(WARM_LOOKUPS):
        if len(app.get_accounts(username=user.username)) != 1:
            raise BenchCheckError(f"get_accounts(username) did not find {user.username}")
    owner = {"home_account_id": user.home_account_id, "environment": cachegen.ENVIRONMENT}
    cache = app.token_cache
    at_query = {**owner, "client_id": cachegen.CLIENT_ID, "realm": cachegen.TENANT_ID}
    if not list(cache.search("AccessToken", target=["User.Read"], query=at_query)):
        raise BenchCheckError(f"no access token of {user.username} in the cache")
    if not list(cache.search("RefreshToken", query=owner)):
        raise BenchCheckError(f"no refresh token of {user.username} in the cache")
    app_query = {"environment": cachegen.ENVIRONMENT, "client_id": cachegen.CLIENT_ID}
    list(cache.search("AppMetadata", query=app_query))
