"""The generic shape of an authority URL, checked before its kind is read
(:mod:`tokensmith.authority.parse`): an absolute https URL (plain http on a loopback
host), no user information, fragment, whitespace or empty path segment.

A plain ``https://host/path`` is split here, without ``urllib.parse`` (whose import
costs a CLI's cache hit more than the rest of the authority parse); any other URL goes
through ``urlsplit``, with the same pieces (``tests/unit/authority/test_authority_split.py``).
"""

from __future__ import annotations

import re

from tokensmith.entra.hosts import is_loopback_host
from tokensmith.errors import AuthorityError

__all__ = ["FORMS", "Url", "shown", "split_url"]

_USERINFO = r"(//)[^/?#]*@"  # compiled on first use (an error message)
FORMS = (
    "e.g. https://login.microsoftonline.com/{tenant}, https://{tenant_name}.ciamlogin.com/ "
    "or https://{tenant_name}.b2clogin.com/{tenant_name}.onmicrosoft.com/{policy}"
)
"""The authority forms an error message offers."""


class Url:  # a plain class: a named tuple costs a compile per process ("Import cost")
    """The checked pieces of an authority URL."""

    __slots__ = ("host", "instance", "query", "scheme", "segments")

    def __init__(
        self, scheme: str, host: str, instance: str, segments: tuple[str, ...], query: str
    ) -> None:
        self.scheme = scheme
        self.host = host
        self.instance = instance
        self.segments = segments
        self.query = query


def shown(text: str) -> str:
    """``text`` fit for an error message: any ``user:password@`` part is masked."""
    return repr(re.sub(_USERINFO, r"\1***@", text))


def _unsafe(text: str) -> bool:
    """True if ``text`` holds whitespace (Unicode's) or a control character; at C speed
    for ASCII text (a space aside, what is not printable there is a control)."""
    if text.isascii():
        return " " in text or not text.isprintable()
    return any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)


def split_url(text: str, *, what: str = "authority") -> Url:
    """Check the generic shape of an authority URL and return its pieces."""
    if _unsafe(text):
        raise AuthorityError(f"The {what} {shown(text)} contains whitespace or control characters")
    parts = _plain_pieces(text) or _url_pieces(text, what)
    scheme, netloc, host, port, path, query, fragment = parts
    if not scheme or not text.lower().startswith(scheme + "://"):
        raise AuthorityError(
            f"The {what} {shown(text)} must be an absolute URL starting with https:// ({FORMS})"
        )
    if not netloc:
        raise AuthorityError(f"The {what} {shown(text)} has no host name")
    if "@" in netloc:
        raise AuthorityError(f"The {what} must not contain user information (user:password@)")
    if not host:
        raise AuthorityError(f"The {what} {text!r} has no host name")
    if scheme != "https" and not (scheme == "http" and is_loopback_host(host)):
        raise AuthorityError(
            f"The {what} {text!r} must use https (plain http is accepted only for "
            "127.0.0.1, ::1 and localhost)"
        )
    if fragment:
        raise AuthorityError(f"The {what} {text!r} must not contain a fragment (#...)")
    segments = tuple(path.rstrip("/").split("/")[1:]) if path.rstrip("/") else ()
    if "" in segments:
        raise AuthorityError(f"The {what} {text!r} has an empty path segment")
    netloc_host = f"[{host}]" if ":" in host else host
    instance = netloc_host if port is None else f"{netloc_host}:{port}"
    return Url(scheme, host.lower(), instance, segments, query)


_Pieces = tuple[str, str, str, int | None, str, str, str]
"""scheme, netloc, host name, port, path, query, fragment: what :func:`split_url` checks."""

_PLAIN_HOST = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
_PLAIN_PATH = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/")


def _plain_pieces(text: str) -> _Pieces | None:
    """The pieces of ``https://host/path`` with a lower-case host of letters, digits,
    dots and hyphens, no port and a path of unreserved characters only (every
    authority Entra documents), as ``urllib.parse.urlsplit`` gives them; ``None``
    for any other URL, which :func:`_url_pieces` splits. (Importing ``urllib.parse``
    costs a CLI's cache hit more than the rest of the authority parse.)"""
    if not text.startswith("https://"):
        return None
    netloc, slash, path = text[8:].partition("/")
    if not netloc or not _PLAIN_HOST.issuperset(netloc) or not _PLAIN_PATH.issuperset(path):
        return None
    return ("https", netloc, netloc, None, slash + path, "", "")


def _url_pieces(text: str, what: str) -> _Pieces:
    """The pieces of any URL, through ``urllib.parse.urlsplit``."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        port = parts.port
    except ValueError as exc:
        raise AuthorityError(f"The {what} {shown(text)} is not a valid URL: {exc}") from exc
    return (parts.scheme.lower(), parts.netloc, host, port, parts.path, parts.query, parts.fragment)
