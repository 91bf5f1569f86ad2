"""The asyncio rows at a tiny size: tokensmith.aio measured, MSAL n/a (no async API),
single flight counted, azure-identity only in its row, and the async fake endpoint."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from bench import cachegen, report
from bench.fakehttp import AsyncFakeHttpClient, FakeHttpClient
from bench.libs import AZURE_IDENTITY, MSAL, TOKENSMITH, load_azure_identity, load_library
from bench.netguard import network_forbidden
from bench.scenarios import ALL, run_all, run_scenario
from bench.scenarios.aio import NO_ASYNC
from bench.scenarios.base import Context
from bench.timing import Settings

TINY = Settings(repeats=1, warmup=1, budget_s=0.0005, max_iterations=3, max_cell_s=1.0)
AIO_ROWS = ("async_silent_hit", "async_1000_cached", "async_100_expired_requests", "async_cc_hit")


def _context() -> Context:
    return Context(TINY, token_latency=0.005)


def _scenario(key: str) -> Any:
    return next(s for s in ALL if key in {row.key for row in s.rows})


@pytest.mark.parametrize("key", AIO_ROWS)
def test_tokensmith_aio_is_measured_and_msal_reads_na(key: str) -> None:
    with network_forbidden():
        ours = run_scenario(_scenario(key), load_library(TOKENSMITH), 3, _context())[key]
        msal = run_scenario(_scenario(key), load_library(MSAL), 3, _context())[key]
    assert ours.status == "ok", ours
    assert ours.value is not None and ours.value > 0
    assert (msal.status, msal.note) == ("n/a", NO_ASYNC)


def test_100_coroutines_on_one_expired_token_send_one_request() -> None:
    key = "async_100_expired_requests"
    with network_forbidden():
        cell = run_scenario(_scenario(key), load_library(TOKENSMITH), 2, _context())[key]
    assert cell.status == "ok", cell
    assert cell.value == 1
    assert "requests per run: [1, 1, 1]" in cell.note


def test_azure_identity_has_a_cell_only_in_the_async_client_credentials_row() -> None:
    # the dev extra installs azure-identity: a missing one fails here, never skips
    assert not load_azure_identity().missing, load_azure_identity().missing
    libs = [load_library(MSAL), load_library(TOKENSMITH), load_azure_identity()]
    chosen = [_scenario("async_cc_hit"), _scenario("cc_hit")]
    with network_forbidden():
        results = report.results_to_json(run_all(libs, [2], _context(), scenarios=chosen))
    by_row = {r["row"]: r["cells"] for r in results}
    assert by_row["async_cc_hit"][AZURE_IDENTITY]["status"] == "ok", by_row["async_cc_hit"]
    assert AZURE_IDENTITY not in by_row["cc_hit"]
    headers = report.headers(results)
    assert headers[5:7] == ["azure-identity median", "ratio azure-identity"]
    rows = {row[0]: row for row in report.table_rows(results)}
    assert rows["client-credentials hit"][5:7] == ["-", "-"]
    assert rows["async client-credentials hit"][6].endswith("x")
    assert len(report.text_table(results).splitlines()[0].split("  ")) >= len(headers)


def test_without_azure_cells_the_table_keeps_its_columns() -> None:
    with network_forbidden():
        results = run_all([load_library(MSAL)], [1], _context(), scenarios=[_scenario("cc_hit")])
    assert report.headers(report.results_to_json(results)) == report.HEADERS


def test_na_notes_are_listed_once_per_reason() -> None:
    cell = {"status": "n/a", "note": NO_ASYNC}
    results = [
        {"title": title, "cells": {MSAL: cell, TOKENSMITH: {"status": "ok"}}}
        for title in ("a", "b")
    ]
    assert report.na_notes(results) == [f"msal: {NO_ASYNC} (rows: a; b)"]
    assert report.na_notes(results, skip=[MSAL]) == []


def test_async_fake_gives_the_sync_fakes_answers_and_counts_posts() -> None:
    user = cachegen.generate_user_cache(1, now=1_800_000_000).users[0]
    form = {"grant_type": "refresh_token", "refresh_token": user.refresh_token}
    clock = lambda: 1_800_000_000.0  # noqa: E731
    sync, aio = FakeHttpClient(now=clock), AsyncFakeHttpClient(token_latency=0.001, now=clock)

    async def ask() -> list[Any]:
        posts = [aio.post(cachegen.TOKEN_ENDPOINT, data=form) for _ in range(3)]
        return await asyncio.gather(*posts)

    answers = asyncio.run(ask())
    assert {a.text for a in answers} == {sync.post(cachegen.TOKEN_ENDPOINT, data=form).text}
    assert aio.post_count == 3
    assert aio.grant_counts() == {"refresh_token": 3}
    discovery = f"{cachegen.AUTHORITY}/v2.0/.well-known/openid-configuration"
    document = json.loads(asyncio.run(aio.get(discovery)).text)
    assert document["token_endpoint"] == cachegen.TOKEN_ENDPOINT
