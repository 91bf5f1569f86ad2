"""The pages the loopback listener shows in the browser, and how they are filled.

Templates follow MSAL: :class:`string.Template` text with ``$name`` placeholders,
treated as HTML when it starts with ``<`` (values are then HTML-escaped), else as plain
text. ``success_template`` and ``error_template`` may use the fields of the
authorization response (``$error``, ``$error_description``, ``$error_uri``,
``$state``); ``$code`` is always empty, the code being a secret. ``welcome_template``
may use ``$auth_uri`` and ``$abort_uri``. Unknown placeholders become empty.
``$error_uri`` is filled only with an ``http(s)`` address (never ``javascript:`` or
``data:``, which a link in the page would run). Values are escaped for HTML text and
*quoted* attributes; a template must quote the attributes it fills.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from string import Template
from urllib.parse import urlsplit

__all__ = ["DEFAULT_ERROR", "DEFAULT_SUCCESS", "Page", "Pages", "render"]

_ADVICE = (
    "For your security: do not share the contents of this page, the address bar, "
    "or screenshots of them."
)
DEFAULT_SUCCESS = (
    "Authentication complete. You can return to the application. "
    "Please close this browser tab.\n\n" + _ADVICE
)
DEFAULT_ERROR = "Authentication failed. $error: $error_description ($error_uri).\n\n" + _ADVICE
_HIDDEN = frozenset({"code"})
_LINKS = frozenset({"error_uri", "auth_uri", "abort_uri"})


@dataclass(frozen=True)
class Page:
    """A rendered page: body and ``Content-Type``."""

    body: str
    content_type: str


@dataclass(frozen=True)
class Pages:
    """The caller's templates (None = tokensmith's plain-text defaults)."""

    welcome: str | None = None
    success: str | None = None
    error: str | None = None


def render(template: str, values: Mapping[str, str]) -> Page:
    """Fill ``template``; HTML templates get HTML-escaped values (no XSS from the
    response), and ``code`` is never filled in."""
    is_html = template.lstrip().startswith("<")
    filled: defaultdict[str, str] = defaultdict(str)
    for key, value in values.items():
        if key in _HIDDEN or (key in _LINKS and not _is_web_address(value)):
            continue
        filled[key] = html.escape(value, quote=True) if is_html else value
    body = Template(template).safe_substitute(filled)
    content_type = "text/html" if is_html else "text/plain"
    return Page(body, f"{content_type}; charset=utf-8")


def _is_web_address(value: str) -> bool:
    try:
        return urlsplit(value.strip()).scheme.lower() in ("http", "https")
    except ValueError:
        return False
