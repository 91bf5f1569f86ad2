"""The MSAL-compatible application façade (thin delegators over the typed core).

As ``msal.application``, this module names the three application classes and the
``extract_certs`` helper; they load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ClientApplication": "tokensmith.application.client_application",
    "PublicClientApplication": "tokensmith.application.public",
    "ConfidentialClientApplication": "tokensmith.application.confidential",
    "extract_certs": "tokensmith.application.certs",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tokensmith.application' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
