"""XML from a peer, parsed without trusting it: the one XML reader of tokensmith.

WS-Trust (the client's MEX and RSTR documents, the dev IdP's incoming RST) is the only
XML tokensmith reads. A hostile document must not expand entities, fetch anything or
exhaust memory, so :func:`parse` refuses what these protocols never need: any
``<!DOCTYPE>`` (and with it every entity and notation declaration, internal or
external), documents larger than :data:`MAX_CHARS`, nesting deeper than
:data:`MAX_DEPTH`. Every failure is a :class:`~tokensmith.errors.ProtocolError` naming
the document and the reason, never its content.

Elements are :mod:`xml.etree.ElementTree` elements with ``{namespace}local`` tags, so
``find`` with a namespace map works. A signed SAML assertion must reach its relying
party byte for byte (re-serialising it breaks the signature), so :func:`parse` can also
hand back the raw bytes inside chosen elements (:meth:`XmlDocument.raw_inner`).
"""

from __future__ import annotations

import xml.parsers.expat as expat
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder

from tokensmith.errors import ProtocolError

__all__ = ["MAX_CHARS", "MAX_DEPTH", "XmlDocument", "parse"]

MAX_CHARS = 2_000_000
"""The largest document read (an AD FS MEX document is some 50 KB, an RSTR 10 KB)."""
MAX_DEPTH = 64
"""The deepest element nesting read (SOAP envelopes nest about a dozen levels)."""


@dataclass(frozen=True)
class XmlDocument:
    """A parsed document: its root element and the raw inner bytes of chosen elements."""

    root: Element
    _raw: dict[int, tuple[Element, bytes]] = field(default_factory=dict, repr=False)

    def raw_inner(self, element: Element) -> bytes | None:
        """The UTF-8 bytes between ``element``'s start and end tags, exactly as sent, or
        None if ``element`` was not one of those :func:`parse` was asked to keep."""
        kept = self._raw.get(id(element))
        return kept[1] if kept is not None and kept[0] is element else None


class _Refused(Exception):
    """Raised from inside the expat callbacks; mapped to ProtocolError by parse."""


def _refuse(reason: str) -> Any:
    def handler(*_args: object) -> None:
        raise _Refused(reason)

    return handler


def _tag(name: str) -> str:
    """expat's ``uri}local`` (namespace_separator ``}``) as ElementTree's ``{uri}local``."""
    return "{" + name if "}" in name else name


def _end_of_start_tag(data: bytes, start: int) -> int:
    """The index just past the ``>`` closing the start tag that begins at ``start``
    (the document is well-formed: only quoted attribute values may hold a ``>``)."""
    quote = 0
    for index in range(start, len(data)):
        byte = data[index]
        if quote:
            if byte == quote:
                quote = 0
        elif byte in (0x22, 0x27):  # " '
            quote = byte
        elif byte == 0x3E:  # >
            return index + 1
    return len(data)


class _Reader:
    """The expat callbacks: build the tree, refuse what is not allowed, note spans."""

    def __init__(self, data: bytes, keep: Collection[str], max_depth: int) -> None:
        self.data = data
        self.keep = keep
        self.max_depth = max_depth
        self.builder = TreeBuilder()
        self.depth = 0
        self.open: list[tuple[Element, int] | None] = []
        self.raw: dict[int, tuple[Element, bytes]] = {}
        self.parser = expat.ParserCreate(encoding="UTF-8", namespace_separator="}")
        parser = self.parser
        parser.buffer_text = True
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = _refuse("declares a DOCTYPE")
        parser.EntityDeclHandler = _refuse("declares an entity")
        parser.UnparsedEntityDeclHandler = _refuse("declares an entity")
        parser.NotationDeclHandler = _refuse("declares a notation")
        parser.ExternalEntityRefHandler = _refuse("refers to an external entity")
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.builder.data

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise _Refused(f"nests elements deeper than {self.max_depth} levels")
        tag = _tag(name)
        element = self.builder.start(tag, {_tag(k): v for k, v in attributes.items()})
        kept = tag in self.keep
        self.open.append((element, self.parser.CurrentByteIndex) if kept else None)

    def end(self, name: str) -> None:
        self.depth -= 1
        self.builder.end(_tag(name))
        kept = self.open.pop()
        if kept is not None:
            element, start = kept
            inner = _end_of_start_tag(self.data, start)
            finish = max(inner, self.parser.CurrentByteIndex)
            self.raw[id(element)] = (element, self.data[inner:finish])


def parse(
    text: str,
    what: str,
    *,
    keep_raw: Collection[str] = (),
    max_chars: int = MAX_CHARS,
    max_depth: int = MAX_DEPTH,
) -> XmlDocument:
    """Parse ``text`` (a whole document) safely.

    Args:
        text: the document.
        what: its name in error messages (``"the MEX document"``).
        keep_raw: ``{namespace}local`` tags whose raw inner bytes to keep.
        max_chars: the largest document accepted.
        max_depth: the deepest nesting accepted.

    Raises:
        ProtocolError: not well-formed, a DOCTYPE or entity declaration, too large, too
            deep, or empty. The message never quotes the document.
    """
    if not isinstance(text, str):
        raise ProtocolError(f"{what} is not text")
    if len(text) > max_chars:
        raise ProtocolError(f"{what} is larger than {max_chars} characters")
    if not text.strip():
        raise ProtocolError(f"{what} is empty")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise ProtocolError(f"{what} is not valid Unicode text") from None
    reader = _Reader(data, frozenset(keep_raw), max_depth)
    try:
        reader.parser.Parse(data, True)
        root = reader.builder.close()
    except _Refused as refused:
        raise ProtocolError(f"{what} is refused: it {refused}") from None
    except expat.ExpatError as exc:
        reason = expat.ErrorString(exc.code) or "malformed"
        raise ProtocolError(
            f"{what} is not well-formed XML ({reason}, line {exc.lineno})"
        ) from None
    except (AssertionError, IndexError, RecursionError):  # TreeBuilder with no root
        raise ProtocolError(f"{what} is not well-formed XML") from None
    return XmlDocument(root, reader.raw)
