"""Read-only value classes with ``__slots__``: the one place attribute writes are
refused (the named tuples cover the other value types; see "Import cost" in
docs/architecture.md)."""

from __future__ import annotations

__all__ = ["ReadOnly"]


class ReadOnly:
    """Base of a slotted class whose fields are set once, in ``__init__``, with
    ``object.__setattr__``; setting or deleting one afterwards raises AttributeError."""

    __slots__ = ()

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only; cannot delete {name!r}")
