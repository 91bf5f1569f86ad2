"""Forbid network access in the bench process.

Both libraries are given :class:`bench.fakehttp.FakeHttpClient`; this guard makes sure
neither reaches the network behind its back (e.g. msal's instance discovery through a
default ``requests`` session). Any DNS lookup or socket ``connect`` raises
:class:`NetworkForbiddenError`, which the bench reports as a scenario error.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "NetworkForbiddenError",
    "forbid_network",
    "forbid_network_for_good",
    "network_forbidden",
]


class NetworkForbiddenError(RuntimeError):
    """A library under benchmark tried to use the network."""


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise NetworkForbiddenError("the benchmark forbids network access (socket/DNS use)")


def _patched() -> tuple[tuple[Any, str], ...]:
    import socket

    return (
        (socket.socket, "connect"),
        (socket.socket, "connect_ex"),
        (socket, "getaddrinfo"),
        (socket, "create_connection"),
    )


def forbid_network() -> dict[tuple[Any, str], Any]:
    """Replace socket connect and name resolution with a function that raises.

    Returns:
        The original attributes, for :func:`network_forbidden` to restore.
    """
    patched = _patched()
    saved = {(owner, name): getattr(owner, name) for owner, name in patched}
    for owner, name in patched:
        setattr(owner, name, _refuse)
    return saved


@contextmanager
def network_forbidden() -> Iterator[None]:
    """Forbid the network inside a ``with`` block, then restore the socket module."""
    saved = forbid_network()
    try:
        yield
    finally:
        for (owner, name), original in saved.items():
            setattr(owner, name, original)


_AUDITED = frozenset({"socket.connect", "socket.getaddrinfo", "socket.gethostbyname"})


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event in _AUDITED:
        _refuse()


def forbid_network_for_good() -> None:
    """For a one-shot probe process: refuse every socket connect and name lookup for
    the rest of the process through an audit hook (PEP 578), which cannot be removed
    and needs no ``import socket``, so the probe times the library's own imports."""
    sys.addaudithook(_audit)
