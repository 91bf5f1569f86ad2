"""What a sans-I/O flow may ask its driver to do."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TypeVar

from tokensmith.protocol.http import HttpRequest, HttpResponse

__all__ = ["Effect", "Flow", "Sleep"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Sleep:
    """Ask the driver to wait ``seconds`` before resuming the flow (sent ``None``)."""

    seconds: float


Effect = HttpRequest | Sleep
Flow = Generator[Effect, HttpResponse | None, T]
"""A flow yields effects, receives responses (``None`` after a sleep), returns ``T``."""
