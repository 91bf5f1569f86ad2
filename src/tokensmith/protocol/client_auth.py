"""Client authentication at the token endpoint (RFC 6749 §2.3, RFC 7521 §4.2, RFC 7523 §2.2).

A :class:`ClientAuth` adds its fields to a token request body:

* :class:`PublicClientAuth`: nothing (public clients, RFC 6749 §2.1);
* :class:`ClientSecretAuth`: ``client_secret`` in the body (RFC 6749 §2.3.1, as MSAL);
* :class:`ClientAssertionAuth`: a ready-made assertion (federated credential), or a
  callable producing one per request;
* :class:`~tokensmith.protocol.client_certificate.CertificateAuth`: an RFC 7523 JWT
  signed with the application's certificate key.

:func:`client_auth_from_credential` turns every form of MSAL's ``client_credential``
into one of these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from tokensmith.errors import ConfigurationError

__all__ = [
    "CLIENT_ASSERTION_TYPE_JWT",
    "AssertionSource",
    "ClientAssertionAuth",
    "ClientAuth",
    "ClientSecretAuth",
    "PublicClientAuth",
    "client_auth_from_credential",
]

CLIENT_ASSERTION_TYPE_JWT = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

AssertionSource = str | bytes | Callable[[], str] | Callable[[dict[str, str]], str]
"""A client assertion, or a callable returning one (optionally given a context dict)."""


@runtime_checkable
class ClientAuth(Protocol):
    """How a client proves its identity at the token endpoint."""

    secret_field_names: frozenset[str]
    """Names of the fields from :meth:`form_fields` that must never be logged."""

    def form_fields(
        self,
        token_endpoint: str,
        now: float,
        fmi_path: str | None = None,
        audience: str | None = None,
    ) -> dict[str, str]:
        """Return the body fields to add to a request sent to ``token_endpoint`` at ``now``
        (``fmi_path``: the request's Federated Managed Identity path, if any;
        ``audience``: what a signed assertion names as ``aud`` when that is not
        ``token_endpoint``, e.g. the authority's own endpoint for a regional request)."""
        ...


class PublicClientAuth:
    """A public client: sends no credential."""

    secret_field_names: frozenset[str] = frozenset()

    def form_fields(
        self,
        token_endpoint: str,
        now: float,
        fmi_path: str | None = None,
        audience: str | None = None,
    ) -> dict[str, str]:
        """Return no fields."""
        return {}

    def __repr__(self) -> str:
        return "PublicClientAuth()"


class ClientSecretAuth:
    """A client secret sent as ``client_secret`` in the body (what MSAL Python does)."""

    secret_field_names = frozenset({"client_secret"})

    def __init__(self, secret: str) -> None:
        if not isinstance(secret, str) or not secret:
            raise ConfigurationError("a client secret must be a non-empty string")
        self._secret = secret

    def form_fields(
        self,
        token_endpoint: str,
        now: float,
        fmi_path: str | None = None,
        audience: str | None = None,
    ) -> dict[str, str]:
        """Return ``{"client_secret": ...}``."""
        return {"client_secret": self._secret}

    def __repr__(self) -> str:
        return "ClientSecretAuth(secret=***)"


def _wants_context(func: Callable[..., Any]) -> bool:
    """True when ``func`` has a positional parameter without a default (MSAL's rule)."""
    import inspect  # (on first use: only a callable credential needs it)

    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return any(p.kind in positional and p.default is inspect.Parameter.empty for p in parameters)


class ClientAssertionAuth:
    """A JWT client assertion (RFC 7523 §2.2), given as a value or produced on demand.

    A callable is invoked every time a request goes out. If it takes one positional
    argument it receives ``{"client_id": ..., "token_endpoint": ...}``, plus
    ``"fmi_path"`` when the request carries one (as MSAL passes it).
    """

    secret_field_names = frozenset({"client_assertion"})

    def __init__(self, assertion: AssertionSource, client_id: str) -> None:
        if not (callable(assertion) or isinstance(assertion, (str, bytes))) or not assertion:
            raise ConfigurationError(
                "client_assertion must be a non-empty string, bytes, or a callable"
            )
        self._assertion = assertion
        self._client_id = client_id

    def form_fields(
        self,
        token_endpoint: str,
        now: float,
        fmi_path: str | None = None,
        audience: str | None = None,
    ) -> dict[str, str]:
        """Return ``client_assertion_type`` and a (possibly fresh) ``client_assertion``.

        Raises:
            ConfigurationError: the callable returned something that is not a string.
        """
        source = self._assertion
        value: object
        if callable(source):
            if _wants_context(source):
                context = {"client_id": self._client_id, "token_endpoint": token_endpoint}
                if fmi_path:
                    context["fmi_path"] = fmi_path
                value = source(context)  # type: ignore[call-arg]
            else:
                value = source()  # type: ignore[call-arg]
        else:
            value = source
        if isinstance(value, bytes):
            try:
                value = value.decode("ascii")
            except UnicodeDecodeError as exc:
                raise ConfigurationError("client_assertion bytes are not ASCII") from exc
        if not isinstance(value, str) or not value:
            raise ConfigurationError("the client_assertion callable must return a non-empty str")
        return {"client_assertion_type": CLIENT_ASSERTION_TYPE_JWT, "client_assertion": value}

    def __repr__(self) -> str:
        kind = "callable" if callable(self._assertion) else "static"
        return f"ClientAssertionAuth({kind}, client_id={self._client_id!r})"


def client_auth_from_credential(
    client_credential: str | Mapping[str, Any] | None,
    *,
    client_id: str,
    is_adfs: bool = False,
    client_claims: Mapping[str, Any] | None = None,
) -> ClientAuth:
    """Build the client authentication for an MSAL ``client_credential`` value.

    Accepted forms (empty-string values count as absent, as in MSAL):

    * ``None``: a public client;
    * a ``str``: a client secret;
    * ``{"client_assertion": str | bytes | callable}``;
    * ``{"private_key": PEM, "thumbprint"?: SHA-1 hex, "public_certificate"?: PEM,
      "passphrase"?: str}``;
    * ``{"private_key_pfx_path": path, "passphrase"?: str, "public_certificate"?: True}``.

    Raises:
        ConfigurationError: the value has none of these forms, or the key or
            certificate cannot be used. Messages never contain key material or
            passphrases.
    """
    if client_credential is None:
        return PublicClientAuth()
    if isinstance(client_credential, str):
        return ClientSecretAuth(client_credential)
    if not isinstance(client_credential, Mapping):
        raise ConfigurationError(
            "client_credential must be a secret string or a dict, "
            f"not {type(client_credential).__name__}"
        )
    if client_credential.get("client_assertion"):
        return ClientAssertionAuth(client_credential["client_assertion"], client_id)
    from tokensmith.protocol.client_certificate import certificate_auth_from_dict  # keys only

    return certificate_auth_from_dict(
        client_credential, client_id=client_id, is_adfs=is_adfs, client_claims=client_claims
    )
