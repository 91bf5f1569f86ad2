"""The layout arguments of a Secret Service item (schema name, attributes, label,
collection, bus address), checked before a bus is opened.

D-Bus carries strings as UTF-8 with no NUL, and object paths in their own syntax
(``/`` and ``[A-Za-z0-9_]`` elements). A value it cannot carry failed inside jeepney at
the first read or write (a bare TypeError, UnicodeEncodeError or ValueError), or made
the bus drop the connection (a NUL): a :class:`~tokensmith.errors.ConfigurationError`
at construction instead. Values are not quoted (an attribute may name a user).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tokensmith.errors import ConfigurationError
from tokensmith.stores.base import utf8_encodable

__all__ = ["checked_attributes", "checked_collection", "checked_text"]

_OBJECT_PATH = re.compile(r"/|(?:/[A-Za-z0-9_]+)+")


def checked_text(value: object, name: str) -> str:
    """``value`` if D-Bus can carry it as a string.

    Raises:
        ConfigurationError: not a str, a NUL in it, or a lone surrogate.
    """
    if isinstance(value, str) and "\0" not in value and utf8_encodable(value):
        return value
    raise ConfigurationError(f"{name} must be text D-Bus can carry (valid Unicode, no NUL)")


def checked_attributes(attributes: object) -> dict[str, str]:
    """``attributes`` as a dict of D-Bus strings (None is none).

    Raises:
        ConfigurationError: not a mapping of such text to such text.
    """
    if attributes is None:
        return {}
    if not isinstance(attributes, Mapping):
        raise ConfigurationError("attributes must be a mapping of text to text")
    return {
        checked_text(key, "an attribute's name"): checked_text(value, "an attribute's value")
        for key, value in attributes.items()
    }


def checked_collection(collection: object) -> str | None:
    """``collection`` as libsecret reads it: None, an alias, or (with a ``/``) an object
    path in D-Bus syntax.

    Raises:
        ConfigurationError: it is neither.
    """
    if collection is None:
        return None
    text = checked_text(collection, "collection")
    if "/" in text and not _OBJECT_PATH.fullmatch(text):
        raise ConfigurationError("collection is neither an alias nor a D-Bus object path")
    return text
