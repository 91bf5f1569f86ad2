"""The exception tree of tokensmith.

Every exception tokensmith raises on purpose derives from :class:`TokensmithError`.
Where MSAL Python raises a built-in exception (``ValueError`` for bad input,
``RuntimeError`` for a failed browser interaction), the tokensmith class also derives
from that built-in, so ``except ValueError`` written for MSAL keeps working::

    TokensmithError
    ├── MsalError                        (alias kept for MSAL code: tokensmith.exceptions)
    │   └── MsalServiceError             the identity provider answered 5xx / non-OAuth error
    ├── TransportError                   the request never got an HTTP answer (retryable)
    │   └── TransportTimeout
    ├── ConfigurationError(ValueError)   bad constructor or call arguments
    │   └── AuthorityError               an authority that cannot be parsed or resolved
    ├── ProtocolError(ValueError)        the peer broke the protocol (malformed JSON, ...)
    ├── IdTokenError(RuntimeError)       an id_token failed validation
    └── BrowserInteractionTimeoutError(RuntimeError)

OAuth errors that MSAL returns as dicts (``invalid_grant`` and friends) are returned as
dicts here too; they are never raised.
"""

from __future__ import annotations

__all__ = [
    "AuthorityError",
    "BrowserInteractionTimeoutError",
    "ConfigurationError",
    "IdTokenError",
    "MsalError",
    "MsalServiceError",
    "ProtocolError",
    "TokensmithError",
    "TransportError",
    "TransportTimeout",
]


class TokensmithError(Exception):
    """Root of every exception tokensmith raises on purpose.

    Attributes:
        retryable: True when the same call may succeed if tried again later.
    """

    retryable: bool = False


class MsalError(TokensmithError):
    """MSAL Python's base exception, kept under its name for compatibility."""


class MsalServiceError(MsalError):
    """The identity provider failed (HTTP 5xx, or an answer that is not OAuth).

    Attributes:
        status_code: the HTTP status, when there was one.
        error: the OAuth ``error`` code when the body carried one.
        error_description: the provider's description, already free of secrets.
    """

    def __init__(
        self,
        *args: object,
        status_code: int | None = None,
        error: str | None = None,
        error_description: str | None = None,
    ) -> None:
        super().__init__(*args)
        self.status_code = status_code
        self.error = error
        self.error_description = error_description
        self.retryable = status_code is not None and (status_code >= 500 or status_code == 429)


class TransportError(TokensmithError):
    """The request got no HTTP answer: connection refused, TLS failure, reset."""

    retryable = True


class TransportTimeout(TransportError):
    """The request got no answer within the timeout."""


class ConfigurationError(TokensmithError, ValueError):
    """An argument to a constructor or a call is not acceptable."""


class AuthorityError(ConfigurationError):
    """An authority URL cannot be parsed, is not trusted, or cannot be discovered."""


class ProtocolError(TokensmithError, ValueError):
    """The peer answered something the protocol does not allow (e.g. malformed JSON)."""


class IdTokenError(TokensmithError, RuntimeError):
    """An id_token did not pass validation (issuer, audience, times, nonce, signature)."""


class BrowserInteractionTimeoutError(TokensmithError, RuntimeError):
    """No answer came back to the loopback listener in time."""
