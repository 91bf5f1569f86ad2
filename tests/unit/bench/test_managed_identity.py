"""The managed-identity row: both libraries measured on a cache hit over the in-process
IMDS, the source pointed at loopback only for the row, no request during the hits."""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

import pytest
from bench.fakehttp import FakeImds
from bench.libs import MSAL, TOKENSMITH, Library, load_library
from bench.netguard import network_forbidden
from bench.scenarios import ALL, run_scenario
from bench.scenarios.base import Context
from bench.scenarios.managed_identity import IMDS_HOST, MI_HIT, imds_environment
from bench.timing import Settings

TINY = Settings(repeats=1, warmup=1, budget_s=0.0005, max_iterations=3, max_cell_s=1.0)


def _scenario() -> Any:
    return next(s for s in ALL if MI_HIT in s.rows)


@pytest.mark.parametrize("name", [MSAL, TOKENSMITH])
def test_both_libraries_get_a_figure_without_the_network(name: str) -> None:
    with network_forbidden():
        cell = run_scenario(_scenario(), load_library(name), 0, Context(TINY))[MI_HIT.key]
    assert cell.status == "ok", cell
    assert cell.value is not None and cell.value > 0


def test_the_row_is_size_independent() -> None:
    assert _scenario().sized is False


def test_the_environment_names_imds_on_loopback_only_inside_the_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:2/msi/token")
    monkeypatch.delenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", raising=False)
    with imds_environment():
        assert os.environ["AZURE_POD_IDENTITY_AUTHORITY_HOST"] == IMDS_HOST
        assert "IDENTITY_ENDPOINT" not in os.environ
    assert os.environ["IDENTITY_ENDPOINT"] == "http://127.0.0.1:2/msi/token"
    assert "AZURE_POD_IDENTITY_AUTHORITY_HOST" not in os.environ


def test_the_fake_imds_serves_loopback_only_and_needs_the_metadata_header() -> None:
    with pytest.raises(ValueError):
        FakeImds("http://169.254.169.254")
    imds = FakeImds(IMDS_HOST)
    params = {"api-version": "2018-02-01", "resource": "https://r"}
    ok = imds.get(imds.url, params=params, headers={"Metadata": "true"})
    assert ok.status_code == 200 and ok.json()["access_token"] == FakeImds.token_for("https://r")
    assert ok.json()["expires_in"] == "86399"  # IMDS words lifetimes as strings
    assert imds.get(imds.url, params=params, headers={}).status_code == 400
    assert imds.get(IMDS_HOST + "/other", params=params).status_code == 404
    assert imds.get_count == 3


def test_a_client_that_asks_imds_at_every_call_gets_no_figure() -> None:
    msal = load_library(MSAL)

    class NoCache:
        def __getattr__(self, name: str) -> Any:
            return getattr(msal.module, name)

        def ManagedIdentityClient(self, identity: Any, *, http_client: Any, **kw: Any) -> Any:
            real = msal.module.ManagedIdentityClient(identity, http_client=http_client, **kw)

            def acquire(*, resource: str) -> Any:
                result = real.acquire_token_for_client(resource=resource)
                http_client.get(http_client.url)  # one request per call
                return result

            return SimpleNamespace(acquire_token_for_client=acquire)

    liar = Library("liar", NoCache())  # type: ignore[arg-type]
    with network_forbidden():
        cell = run_scenario(_scenario(), liar, 0, Context(TINY))[MI_HIT.key]
    assert cell.status == "error"
    assert "GETs to prime" in cell.note or "during cache hits" in cell.note
