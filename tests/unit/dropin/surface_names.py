"""MSAL Python's public names, found by introspecting the installed ``msal`` (1.39),
in the form docs/compatibility.md lists them:

* ``msal.<name>``: a name of the package namespace (classes and modules);
* ``<Class>.<member>``: a public method, constant or nested class defined by one of
  MSAL's public classes (the application classes, the caches, managed identity, the
  small helpers); ``<Class>.<Nested>.<MEMBER>`` for the members of nested classes;
* ``<Class>(<param>)``: a constructor parameter; ``<Class>.<method>(<param>)``: a
  method parameter (``self``, ``*args`` and ``**kwargs`` are not listed);
* ``msal.managed_identity.<name>``: the module's own functions, classes and constants.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import msal  # type: ignore[import-untyped]
import msal.managed_identity  # type: ignore[import-untyped]

__all__ = ["CLASSES", "msal_names", "parameter", "resolve_msal"]

CLASSES = (
    "ClientApplication",
    "PublicClientApplication",
    "ConfidentialClientApplication",
    "TokenCache",
    "SerializableTokenCache",
    "ManagedIdentityClient",
    "SystemAssignedManagedIdentity",
    "UserAssignedManagedIdentity",
    "ManagedIdentityError",
    "ArcPlatformNotSupportedError",
    "PopAuthScheme",
    "Prompt",
    "AutoRefresher",
    "IdTokenError",
    "BrowserInteractionTimeoutError",
)
_SKIPPED_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _parameters(function: Any) -> list[inspect.Parameter]:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return []
    return [
        p
        for p in signature.parameters.values()
        if p.name != "self" and p.kind not in _SKIPPED_KINDS
    ]


def _members(owner: type, prefix: str) -> Iterator[str]:
    for name, value in vars(owner).items():
        if name.startswith("_") and name != "__init__":
            continue
        if name == "__init__":
            if callable(value):
                for p in _parameters(value):
                    yield f"{prefix}({p.name})"
            continue
        yield f"{prefix}.{name}"
        if inspect.isclass(value):
            yield from (f"{prefix}.{name}.{m}" for m in vars(value) if not m.startswith("_"))
        elif inspect.isfunction(value):
            yield from (f"{prefix}.{name}({p.name})" for p in _parameters(value))


def msal_names() -> list[str]:
    """Every public name of MSAL 1.39 as the page lists it, sorted."""
    names = {f"msal.{n}" for n in dir(msal) if not n.startswith("_")}
    for cls_name in CLASSES:
        names.update(_members(getattr(msal, cls_name), cls_name))
    module = msal.managed_identity
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        own = getattr(value, "__module__", None) == module.__name__
        if own or (name.isupper() and type(value) is object):  # the source sentinels
            names.add(f"msal.managed_identity.{name}")
    return sorted(names)


def parameter(name: str) -> tuple[str, str | None]:
    """Split ``Owner.method(param)`` into ``("Owner.method", "param")``."""
    if name.endswith(")") and "(" in name:
        owner, _, param = name[:-1].partition("(")
        return owner, param
    return name, None


def resolve_msal(name: str, root: Any) -> Any:
    """The object ``name`` (without a parameter) denotes under ``root`` (``msal`` or
    ``tokensmith``); raises AttributeError when it is missing."""
    parts = name.split(".")
    if parts[0] == "msal":
        parts = parts[1:]
    value = root
    for part in parts:
        value = getattr(value, part)
    return value
