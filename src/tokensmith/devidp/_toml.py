"""TOML parsing: :mod:`tomllib` on Python 3.11+, the ``tomli`` backport on 3.10
(installed by the ``devidp`` extra)."""

from __future__ import annotations

import sys
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = ["TOMLDecodeError", "loads"]

TOMLDecodeError = tomllib.TOMLDecodeError


def loads(text: str) -> dict[str, Any]:
    """Parse a TOML document."""
    parsed: dict[str, Any] = tomllib.loads(text)
    return parsed
