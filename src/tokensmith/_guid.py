"""The GUID shape Entra gives tenant, object and client ids: ``8-4-4-4-12`` hex digits.

Checked character by character rather than with a regular expression, whose compile
costs every process that builds an application ("Import cost" in docs/architecture.md).
"""

from __future__ import annotations

__all__ = ["is_guid"]

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_HYPHENS = (8, 13, 18, 23)


def is_guid(text: str) -> bool:
    """True for a GUID in its ``8-4-4-4-12`` hex form (either case), nothing around it."""
    return (
        len(text) == 36
        and text.count("-") == 4
        and all(text[i] == "-" for i in _HYPHENS)
        and _HEX_DIGITS.issuperset(text.replace("-", ""))
    )
