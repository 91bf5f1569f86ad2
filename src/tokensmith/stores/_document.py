"""A snapshot's state that remembers each entry's text, so saving it again encodes only
the entries that changed.

The text is exactly ``json.dumps(state, indent=4)`` (MSAL's and msal-extensions'
layout), byte for byte: an entry inside a section sits two levels deep, and JSON text
has newlines only between its tokens (a newline inside a string is escaped), so an
entry's ``json.dumps(entry, indent=4)`` with every newline followed by eight more
spaces is the entry's text inside the document. Python's ``json`` encodes with
``indent`` in pure Python, so re-encoding a whole cache on every write costs more than
the write's I/O; here an unchanged entry costs a join.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["Document"]

_PAD1 = "\n    "
_PAD2 = "\n        "
_SEP2 = "," + _PAD2


class Document:
    """A snapshot's state: sections of entries, each entry's text kept.

    Entries put here must not be changed in place afterwards (they are copied from the
    cache's changes or parsed from the file), so a kept text always matches its entry.
    """

    __slots__ = ("_sections", "_texts")

    def __init__(self, state: Mapping[str, Any], previous: Document | None = None) -> None:
        """Wrap ``state`` (taken over, not copied); texts of entries equal to the ones
        of ``previous`` are reused.

        An entry's text is reused by equality only when its values are all strings:
        ``1 == 1.0 == True`` but they are written differently.
        """
        self._sections: dict[Any, Any] = dict(state)
        self._texts: dict[Any, dict[str, tuple[str, bool]]] = {}
        for name, section in self._sections.items():
            if not _keyed(section):
                continue  # written whole, as json writes it
            texts: dict[str, tuple[str, bool]] = {}
            self._texts[name] = texts
            if previous is None:
                continue
            old_section = previous._sections.get(name)
            old_texts = previous._texts.get(name)
            if old_texts is None or not isinstance(old_section, dict):
                continue
            for key, entry in section.items():
                old = old_section.get(key)
                if old is None:
                    continue
                kept = old_texts.get(key)
                if kept is not None and (old is entry or (kept[1] and _same(old, entry))):
                    texts[key] = kept

    def put(self, name: str, key: str, entry: Any) -> None:
        """Add or replace one entry (``entry`` is kept, not copied)."""
        section = self._sections.get(name)
        if not isinstance(section, dict):  # as the merge always did: a new section
            section = self._sections[name] = {}
            self._texts[name] = {}
        section[key] = entry
        texts = self._texts.get(name)
        if texts is not None:
            texts.pop(key, None)

    def remove(self, name: str, key: str) -> None:
        """Remove one entry if it is there."""
        section = self._sections.get(name)
        if isinstance(section, dict):
            section.pop(key, None)
            texts = self._texts.get(name)
            if texts is not None:
                texts.pop(key, None)

    def text(self) -> str:
        """``json.dumps(state, indent=4)``, from the kept texts where they are valid.

        Raises:
            ValueError, TypeError: a value JSON cannot hold (as ``json.dumps``).
        """
        sections = self._sections
        if not sections:
            return "{}"
        if not all(type(name) is str for name in sections):
            return json.dumps(sections, indent=4)  # as json converts such keys
        out: list[str] = []  # one join: the document is copied once
        lead = "{" + _PAD1
        for name, section in sections.items():
            out.append(f"{lead}{json.dumps(name)}: ")
            lead = "," + _PAD1
            texts = self._texts.get(name)
            if texts is None or not isinstance(section, dict):
                out.append(json.dumps(section, indent=4).replace("\n", _PAD1))
            elif not section:
                out.append("{}")
            else:
                out.append("{")
                _entries(section, texts, out)
                out.append(_PAD1 + "}")
        out.append("\n}")
        return "".join(out)


def _keyed(section: object) -> bool:
    """A section whose entries get texts of their own: an object with string keys."""
    return isinstance(section, dict) and all(type(key) is str for key in section)


_STR_ONLY = frozenset([str])


def _same(old: dict[str, Any], new: Any) -> bool:
    """``new`` is written as ``old`` is (``old`` holds only strings): equal, same order."""
    return bool(old == new) and [*old] == [*new]


def _entries(section: dict[str, Any], texts: dict[str, tuple[str, bool]], out: list[str]) -> None:
    """Append each entry's text in the section's order, encoding the ones not kept."""
    append = out.append
    lead = _PAD2
    for key, entry in section.items():
        kept = texts.get(key)
        if kept is None:
            text = f"{json.dumps(key)}: {json.dumps(entry, indent=4).replace(chr(10), _PAD2)}"
            plain = isinstance(entry, dict) and {*map(type, entry.values())} <= _STR_ONLY
            kept = texts[key] = (text, plain)
        append(lead)
        append(kept[0])
        lead = _SEP2
