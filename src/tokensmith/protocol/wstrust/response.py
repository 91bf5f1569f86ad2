"""The WS-Trust RequestSecurityTokenResponse: a SAML assertion, or a SOAP fault.

Like MSAL Python, the first ``RequestSecurityTokenResponse`` (1.3's sit in a
``...ResponseCollection``) with both a ``TokenType`` and a ``RequestedSecurityToken``
gives the token: the raw bytes inside ``RequestedSecurityToken``, untouched, since the
relying party checks the assertion's XML signature over exactly those bytes. A SOAP 1.2
fault is read into MSAL's ``{"reason": ..., "code": ...}`` (AD FS answers a wrong
password with HTTP 500 and the subcode ``a:FailedAuthentication``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from tokensmith._safexml import XmlDocument, parse
from tokensmith.protocol.wstrust.names import NS, qname

__all__ = ["Fault", "SamlToken", "parse_rstr"]

_REASON_LIMIT = 1000
_TRUST = (NS["wst"], NS["wst2005"])
_RAW = frozenset(qname(ns, "RequestedSecurityToken") for ns in _TRUST)


@dataclass(frozen=True, slots=True)
class SamlToken:
    """The issued assertion (UTF-8 bytes as sent; never in a repr) and its token type."""

    assertion: bytes = field(repr=False)
    token_type: str


@dataclass(frozen=True, slots=True)
class Fault:
    """A SOAP fault: the subcode value and the reason text (either may be absent)."""

    code: str | None
    reason: str | None

    def as_dict(self) -> dict[str, str | None]:
        """MSAL's shape of the fault: ``{"reason": ..., "code": ...}``."""
        return {"reason": self.reason, "code": self.code}


def _text(element: Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip()[:_REASON_LIMIT]


def _fault(root: Element) -> Fault | None:
    reason = root.find("s:Body/s:Fault/s:Reason/s:Text", NS)
    code = root.find("s:Body/s:Fault/s:Code/s:Subcode/s:Value", NS)
    if reason is None and code is None:
        return None
    return Fault(_text(code), _text(reason))


def _token(document: XmlDocument) -> SamlToken | None:
    for ns in _TRUST:
        for rstr in document.root.iter(qname(ns, "RequestSecurityTokenResponse")):
            token_type = _text(rstr.find(qname(ns, "TokenType")))
            holder = rstr.find(qname(ns, "RequestedSecurityToken"))
            if holder is None or len(holder) == 0 or not token_type:
                continue
            raw = document.raw_inner(holder)
            if raw:
                return SamlToken(raw, token_type)
    return None


def parse_rstr(text: str) -> SamlToken | Fault | None:
    """Read an RSTR: the token, else the fault, else None (neither).

    Raises:
        ProtocolError: not well-formed XML, or refused by :mod:`tokensmith._safexml`.
    """
    document = parse(text, "the WS-Trust response", keep_raw=_RAW)
    return _token(document) or _fault(document.root)
