"""The async façade cannot drift from the sync one: the same public methods with the
same signatures, each a coroutine function in tokensmith.aio, and nothing more."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import tokensmith
import tokensmith.aio
from tokensmith.application.client_application import ClientApplication

PAIRS = [
    (ClientApplication, tokensmith.aio.ClientApplication),
    (tokensmith.PublicClientApplication, tokensmith.aio.PublicClientApplication),
    (tokensmith.ConfidentialClientApplication, tokensmith.aio.ConfidentialClientApplication),
]
IDS = [sync.__name__ for sync, _ in PAIRS]


def _public(cls: type) -> dict[str, Any]:
    return {name: value for name, value in inspect.getmembers(cls) if not name.startswith("_")}


def _methods(cls: type) -> dict[str, Any]:
    return {name: value for name, value in _public(cls).items() if inspect.isfunction(value)}


@pytest.mark.parametrize(("sync", "aio"), PAIRS, ids=IDS)
def test_the_same_public_methods_with_identical_signatures(sync: type, aio: type) -> None:
    sync_methods, aio_methods = _methods(sync), _methods(aio)
    assert set(sync_methods) == set(aio_methods)
    assert "acquire_token_silent" in aio_methods  # the comparison is not vacuous
    for name, method in sync_methods.items():
        assert inspect.signature(aio_methods[name]) == inspect.signature(method), name
    assert inspect.signature(aio.__init__) == inspect.signature(sync.__init__)


@pytest.mark.parametrize(("sync", "aio"), PAIRS, ids=IDS)
def test_every_aio_method_is_a_coroutine_function(sync: type, aio: type) -> None:
    for name, method in _methods(aio).items():
        assert inspect.iscoroutinefunction(method), name
    for name, method in _methods(sync).items():
        assert not inspect.iscoroutinefunction(method), name


@pytest.mark.parametrize(("sync", "aio"), PAIRS, ids=IDS)
def test_the_same_public_attributes(sync: type, aio: type) -> None:
    sync_attributes = {n for n, v in _public(sync).items() if not inspect.isfunction(v)}
    aio_attributes = {n for n, v in _public(aio).items() if not inspect.isfunction(v)}
    assert sync_attributes == aio_attributes
    for name in sync_attributes - {"CONSOLE_WINDOW_HANDLE"}:  # a fresh marker object each
        assert getattr(aio, name) == getattr(sync, name) or isinstance(
            getattr(sync, name), property
        ), name


def test_context_managers_of_each_world() -> None:
    aio = tokensmith.aio.ClientApplication
    assert inspect.iscoroutinefunction(aio.__aenter__)
    assert inspect.iscoroutinefunction(aio.__aexit__)
    assert hasattr(ClientApplication, "__enter__") and hasattr(ClientApplication, "__exit__")
