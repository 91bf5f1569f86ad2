"""MSAL Python's ``msal.exceptions`` module, under the same names."""

from __future__ import annotations

from tokensmith.errors import MsalError, MsalServiceError

__all__ = ["MsalError", "MsalServiceError"]
