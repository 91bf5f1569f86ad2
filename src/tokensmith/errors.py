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
    ├── FederationError(RuntimeError)    a WS-Trust federation server refused the sign-in
    ├── BrowserInteractionTimeoutError(RuntimeError)
    └── StoreError(OSError)              a token store could not read or write
        ├── StoreLockTimeout             another process held the store's lock (retryable)
        └── StoreUnavailableError        no such backend here (no Secret Service, ...)

OAuth errors that MSAL returns as dicts (``invalid_grant`` and friends) are returned as
dicts here too; they are never raised.
"""

from __future__ import annotations

__all__ = [
    "AuthorityError",
    "BrowserInteractionTimeoutError",
    "ConfigurationError",
    "FederationError",
    "IdTokenError",
    "MsalError",
    "MsalServiceError",
    "ProtocolError",
    "StoreError",
    "StoreLockTimeout",
    "StoreUnavailableError",
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


class FederationError(TokensmithError, RuntimeError):
    """A federation server (AD FS, over WS-Trust) refused a username/password sign-in
    or issued nothing usable; a ``RuntimeError``, as MSAL Python raises.

    Attributes:
        code: the SOAP fault's subcode (``a:FailedAuthentication`` for a wrong
            password), when the server sent a fault.
        reason: the fault's reason text, when it sent one.
    """

    def __init__(self, *args: object, code: str | None = None, reason: str | None = None) -> None:
        super().__init__(*args)
        self.code = code
        self.reason = reason


class BrowserInteractionTimeoutError(TokensmithError, RuntimeError):
    """No answer came back to the loopback listener in time."""


class StoreError(TokensmithError, OSError):
    """A token store (file, SQLite, Redis, keyring) could not read or write.

    Raised with the backend's exception as ``__cause__``; the message names the store
    (a path, a host) and never a token.
    """


class StoreLockTimeout(StoreError):
    """Another process held the store's lock for longer than the store waits."""

    retryable = True


class StoreUnavailableError(StoreError):
    """The backend does not exist here: no Secret Service on the session bus (a
    headless machine), no Keychain, no DPAPI, or its Python package is missing."""
