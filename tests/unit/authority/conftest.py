"""Fixtures of the authority tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.unit.authority.fake_server import FakeServer

from tokensmith.authority import memo


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture(autouse=True)
def _fresh_process_memo() -> Iterator[None]:
    memo.clear()
    yield
    memo.clear()
