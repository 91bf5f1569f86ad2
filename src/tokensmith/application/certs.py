"""MSAL Python's ``msal.application.extract_certs``: the base64 bodies of the
certificates in a PEM text, for an ``x5c`` header (RFC 7515 §4.1.6)."""

from __future__ import annotations

import re

from tokensmith.errors import ConfigurationError

__all__ = ["extract_certs"]

_CERTIFICATE = re.compile(
    r"-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----", re.IGNORECASE
)


def extract_certs(public_cert_content: str) -> list[str]:
    """The body of every ``CERTIFICATE`` block, stripped of surrounding whitespace (its
    line breaks kept, as MSAL keeps them); without such blocks, the whole text
    stripped, taken to be one certificate.

    Raises:
        ValueError: the text holds a private key instead (``ConfigurationError``).
    """
    if not isinstance(public_cert_content, str):
        raise ConfigurationError("extract_certs() takes the PEM text of a certificate")
    bodies = _CERTIFICATE.findall(public_cert_content)
    if bodies:
        return [body.strip() for body in bodies]
    if "PRIVATE KEY" in public_cert_content:
        raise ConfigurationError("We expect your public key but detect a private key instead")
    return [public_cert_content.strip()]
