"""The keywords an acquire method takes beyond its grant's own parameters, as MSAL
Python 1.39 reads them: ``data`` (extra body fields), ``fmi_path`` (client
credentials) and ``forwarded_client_claims`` (client credentials, on-behalf-of, code
redemption); and the check that no other keyword slips through unheard.

Both extras become fields of the request's ``data``, so they take part in the
extended cache key (``ext_cache_key``, :func:`tokensmith.cache.schema.compute_ext_cache_key`)
exactly as in MSAL: a token obtained for FMI path A is never served for path B, nor one
obtained with some forwarded claims for other (or no) claims.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokensmith.engine.context import AppContext
from tokensmith.engine.token_call import extra_form_fields
from tokensmith.errors import ConfigurationError
from tokensmith.protocol.claims import (
    CLIENT_CLAIMS_FIELD,
    merge_claims_objects,
    parse_claims_object,
)

__all__ = ["FMI_PATH_FIELD", "check_keywords", "check_ssh_cert", "request_data", "wire_claims"]

FMI_PATH_FIELD = "fmi_path"
"""Body field of the Federated Managed Identity credential path."""


def check_keywords(method: str, kwargs: Mapping[str, Any], accepted: frozenset[str]) -> None:
    """Refuse a keyword the method would not honour, as Python refuses an unknown one.

    Raises:
        TypeError: ``kwargs`` holds a name outside ``accepted``; the message names it.
    """
    if kwargs and not accepted.issuperset(kwargs):
        name = next(k for k in kwargs if k not in accepted)
        raise TypeError(f"{method}() got an unexpected keyword argument {name!r}")


def check_ssh_cert(data: Mapping[str, Any]) -> None:
    """MSAL's rule for an SSH certificate request (``data={"token_type": "ssh-cert"}``):
    it must name the public key (``req_cnf``, a JWK) and its ``key_id``.

    Raises:
        ValueError: one of the two is missing (``ConfigurationError``).
    """
    if data.get("token_type") != "ssh-cert":
        return
    for name, what in (
        ("req_cnf", "containing the public key in JWK format (RFC 7517)"),
        ("key_id", "which identifies the key in the 'req_cnf' argument"),
    ):
        if not data.get(name):
            raise ConfigurationError(
                f"When requesting an SSH certificate, you must include a string "
                f"parameter named {name!r} {what}."
            )


def request_data(
    data: Mapping[str, Any] | None,
    *,
    fmi_path: object = None,
    forwarded_client_claims: object = None,
) -> dict[str, str]:
    """The request's extra fields: the caller's ``data`` plus the two extras.

    Raises:
        ValueError: ``fmi_path`` or ``forwarded_client_claims`` is not a string, or the
            claims are not a JSON object (``ConfigurationError``; MSAL's wording).
    """
    fields = extra_form_fields(data) if data else {}
    if fmi_path is not None:
        if not isinstance(fmi_path, str):
            raise ConfigurationError(f"fmi_path must be a string, got {type(fmi_path).__name__}")
        fields[FMI_PATH_FIELD] = fmi_path
    if forwarded_client_claims is not None:
        if not isinstance(forwarded_client_claims, str):
            raise ConfigurationError(
                "forwarded_client_claims must be a string, got "
                f"{type(forwarded_client_claims).__name__}"
            )
        try:
            parse_claims_object(forwarded_client_claims)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        fields[CLIENT_CLAIMS_FIELD] = forwarded_client_claims
    return fields


def wire_claims(
    ctx: AppContext, claims_challenge: str | None, data: Mapping[str, str]
) -> str | None:
    """The ``claims`` to send: the challenge with the client capabilities, then the
    client-originated claims (``data``'s :data:`CLIENT_CLAIMS_FIELD`) merged in.

    Raises:
        ValueError: a claims value is not a JSON object.
    """
    return merge_claims_objects(ctx.claims(claims_challenge), data.get(CLIENT_CLAIMS_FIELD))
