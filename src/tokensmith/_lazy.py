"""Modules loaded on first use, so a process that needs one feature does not pay for all.

A CLI that finds its token in a persisted cache runs a few façade methods; importing
every grant, the broker and DPoP for it cost more than the work (docs/performance.md,
"CLI process"). A façade names a feature's engine module through :func:`lazy_module`
(under ``TYPE_CHECKING`` the real import, so mypy and the import contracts see it)::

    if TYPE_CHECKING:
        from tokensmith.engine import user_flows
    else:
        user_flows = lazy_module("tokensmith.engine.user_flows")

Attribute reads go to the module itself each time (a test's ``monkeypatch`` of a
module attribute is seen), after one import on the first read.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

__all__ = ["LazyModule", "lazy_module", "lazy_names"]


class LazyModule:
    """Stands for the module ``name`` and imports it on the first attribute read."""

    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self) -> str:
        state = "loaded" if self._module is not None else "not loaded yet"
        return f"<lazy module {self._name!r} ({state})>"


def lazy_module(name: str) -> Any:
    """A :class:`LazyModule` for ``name`` (typed ``Any``: the caller types it through
    its ``TYPE_CHECKING`` import)."""
    return LazyModule(name)


def lazy_names(
    package: str, where: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A package's module ``__getattr__`` for names loaded on first use: ``where`` maps
    each name to the module that defines it; the value found is kept in ``namespace``
    (the package's ``globals()``), so later reads do not come back here::

        __getattr__ = lazy_names(__name__, _WHERE, globals())
    """

    def load(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = namespace[name] = getattr(importlib.import_module(module), name)
        return value

    return load
