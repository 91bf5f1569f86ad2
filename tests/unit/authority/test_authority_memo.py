"""The discovery memo: TTL on an injected clock, one resolution under contention."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import pytest
from tests.unit.authority.fake_server import GUID, FakeServer, entra_document, make_resolver

from tokensmith._clock import FakeClock
from tokensmith.authority import memo, parse_authority
from tokensmith.authority.discovery import AuthorityMetadata, metadata_from_document
from tokensmith.authority.memo import MetadataMemo, TtlMemo, memoized, metadata_key
from tokensmith.authority.resolve import resolve_alias_groups
from tokensmith.drivers.sync import run_flow
from tokensmith.errors import MsalServiceError

V = TypeVar("V")
WK = "/v2.0/.well-known/openid-configuration"


def get_or_resolve(store: TtlMemo[V], key: Hashable, resolve: Callable[[], V]) -> V:
    """The memo as a flow step, driven here with nothing to send."""

    def flow() -> Any:
        return resolve()
        yield

    return run_flow(memoized(store, key, flow), transport=None)  # type: ignore[arg-type]


METADATA = metadata_from_document(entra_document())


def test_ttl_follows_the_injected_clock() -> None:
    clock = FakeClock()
    store: TtlMemo[str] = TtlMemo(ttl=100, clock=clock)
    calls: list[int] = []

    def resolve() -> str:
        calls.append(1)
        return f"v{len(calls)}"

    assert get_or_resolve(store, "k", resolve) == "v1"
    clock.advance(99)
    assert get_or_resolve(store, "k", resolve) == "v1"
    assert store.get("k") == "v1"
    clock.advance(1)
    assert store.get("k") is None
    assert get_or_resolve(store, "k", resolve) == "v2"
    assert len(calls) == 2 and len(store) == 1


def test_default_ttl_is_a_day() -> None:
    clock = FakeClock()
    store = MetadataMemo(clock=clock)
    spec = parse_authority()
    get_or_resolve(store, metadata_key(spec), lambda: METADATA)
    clock.advance(24 * 3600 - 1)
    assert store.get(metadata_key(spec)) is METADATA
    clock.advance(1)
    assert store.get(metadata_key(spec)) is None


def test_failures_are_not_remembered() -> None:
    store: TtlMemo[str] = TtlMemo(clock=FakeClock())

    def fail() -> str:
        raise MsalServiceError("busy", status_code=503)

    with pytest.raises(MsalServiceError):
        get_or_resolve(store, "k", fail)
    assert get_or_resolve(store, "k", lambda: "ok") == "ok"


def test_clear() -> None:
    store: TtlMemo[str] = TtlMemo(clock=FakeClock())
    store.put("k", "v")
    store.clear()
    assert store.get("k") is None and len(store) == 0


def test_keys_separate_what_discovery_would_do_differently() -> None:
    unknown = "https://login.fabrikam.example/t"
    validated = parse_authority(unknown)
    trusted = parse_authority(unknown, validate_authority=False)
    assert validated.discovery_url == trusted.discovery_url
    assert metadata_key(validated) != metadata_key(trusted)
    assert metadata_key(
        parse_authority(f"https://login.microsoftonline.com/{GUID}")
    ) == metadata_key(parse_authority(f"https://LOGIN.microsoftonline.com/{GUID}/"))


def test_32_threads_cause_one_discovery(server: FakeServer) -> None:
    url = f"https://login.microsoftonline.com/{GUID}{WK}"
    entered = threading.Event()

    def slow(_: object) -> object:
        entered.set()
        time.sleep(0.05)  # hold the resolution open while the other threads arrive
        from tokensmith.transport.mock import json_response

        return json_response(entra_document())

    server.add(url, slow)  # type: ignore[arg-type]
    resolve = make_resolver(server.transport, memo=MetadataMemo(clock=FakeClock()))
    spec = parse_authority(f"https://login.microsoftonline.com/{GUID}")
    results: list[AuthorityMetadata] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(32)

    def worker() -> None:
        try:
            barrier.wait()
            results.append(resolve(spec))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not errors
    assert len(results) == 32
    assert server.urls == [url]
    assert all(r is results[0] for r in results)
    assert entered.is_set()


def test_different_authorities_resolve_separately(server: FakeServer) -> None:
    a = f"https://login.microsoftonline.com/{GUID}"
    b = "https://login.microsoftonline.com/common"
    server.add(a + WK, entra_document())
    server.add(b + WK, entra_document(tenant="common"))
    resolve = make_resolver(server.transport)  # the process-wide memo
    assert resolve(parse_authority(a)).tenant == GUID
    assert resolve(parse_authority(b)).tenant == "common"
    assert resolve(parse_authority(a + "/")).tenant == GUID
    assert len(server.urls) == 2
    assert len(memo.metadata_memo) == 2
    memo.clear()
    resolve(parse_authority(a))
    assert len(server.urls) == 3


def test_alias_groups_are_memoised_per_discovery_host(server: FakeServer) -> None:
    server.add(
        "https://login.microsoftonline.com/common/discovery/instance",
        {"metadata": [{"aliases": ["login.microsoftonline.com", "login.windows.net"]}]},
    )
    store: TtlMemo[tuple[object, ...]] = TtlMemo(clock=FakeClock())
    first = run_flow(resolve_alias_groups("login.fabrikam.example", memo=store), server.transport)  # type: ignore[arg-type]
    again = run_flow(resolve_alias_groups("login.contoso.example", memo=store), server.transport)  # type: ignore[arg-type]
    assert first == again and len(server.urls) == 1
    default = run_flow(resolve_alias_groups("login.microsoftonline.com"), server.transport)
    assert default[0].aliases == ("login.microsoftonline.com", "login.windows.net")
    assert len(memo.alias_memo) == 1
