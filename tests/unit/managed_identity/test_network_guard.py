"""The root conftest's guard: a test cannot reach IMDS or anything off loopback."""

from __future__ import annotations

import socket

import pytest


def test_imds_address_is_refused() -> None:
    with socket.socket() as sock, pytest.raises(AssertionError, match="outside loopback"):
        sock.connect(("169.254.169.254", 80))


def test_loopback_is_allowed() -> None:
    with socket.socket() as server, socket.socket() as client:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        client.connect(server.getsockname())
