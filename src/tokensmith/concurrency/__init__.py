"""Concurrency primitives shared by the sync and asyncio worlds.

Modules: :mod:`~tokensmith.concurrency.single_flight` (one execution per key for
concurrent threads and coroutines).
"""

from __future__ import annotations

from tokensmith.concurrency.single_flight import SingleFlight

__all__ = ["SingleFlight"]
