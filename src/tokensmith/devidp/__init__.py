"""An offline, Entra-compatible identity provider for development and tests
(``tokensmith dev-idp``; docs/dev-idp.md).

It speaks Entra's v2.0 protocol (discovery, JWKS, authorize, token, devicecode,
logout, instance and user-realm discovery; B2C and AD FS path shapes) over HTTPS on
loopback with a CA it generates, so tokensmith and MSAL Python acquire tokens from it
in every flow. Public API: :class:`DevIdP` (start/stop in-process), the configuration
loaders and the fault switches.

Module map: ``config``/``defaults`` (TOML), ``keys`` (CA, TLS, signing), ``server`` and
``routes`` (HTTP), ``discovery``, ``authorize``, ``device``, ``token_endpoint`` with
``clientauth``, ``grants``, ``scopes`` and ``tokens``; ``faults`` and ``admin``.
"""

from __future__ import annotations

from tokensmith.devidp.config import DevIdPConfig, load_config, parse_config
from tokensmith.devidp.defaults import DEFAULT_CONFIG_TOML, default_config
from tokensmith.devidp.faults import FAULT_KINDS, Fault, Faults
from tokensmith.devidp.idp import DevIdP

__all__ = [
    "DEFAULT_CONFIG_TOML",
    "FAULT_KINDS",
    "DevIdP",
    "DevIdPConfig",
    "Fault",
    "Faults",
    "default_config",
    "load_config",
    "parse_config",
]
