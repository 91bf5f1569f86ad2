"""Entra's ``user_fic`` grant: a confidential client (an agent) trades a federated
identity credential (its instance token) for a token of one user, named by UPN or
object id. Not an RFC: the request is Entra's extension of RFC 6749 §4.5 (an
extension grant type), with the user in ``username`` or ``user_id`` and the
credential in ``user_federated_identity_credential``.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokensmith.errors import ConfigurationError
from tokensmith.protocol._forms import base_form

__all__ = ["CREDENTIAL_FIELD", "GRANT_TYPE", "check_user", "user_fic_form"]

GRANT_TYPE = "user_fic"
CREDENTIAL_FIELD = "user_federated_identity_credential"
"""The body field of the credential (a secret field: never logged)."""


def check_user(assertion: object, username: object, user_object_id: object) -> None:
    """MSAL's checks of the credential and the user, in its order.

    Raises:
        ConfigurationError: an empty (or non-string) assertion; neither or both of
            ``username`` and ``user_object_id``.
    """
    if not assertion or not isinstance(assertion, str):
        raise ConfigurationError("assertion is required and must be a non-empty string")
    if not username and not user_object_id:
        raise ConfigurationError("Either username or user_object_id must be provided")
    if username and user_object_id:
        raise ConfigurationError("username and user_object_id are mutually exclusive")


def user_fic_form(
    *,
    client_id: str,
    assertion: str,
    scopes: Iterable[str],
    username: str | None = None,
    user_object_id: str | None = None,
    claims: str | None = None,
) -> dict[str, str]:
    """Return the token request body; the user is ``user_id`` when an object id is
    given, else ``username``.

    Raises:
        ConfigurationError: as :func:`check_user`.
    """
    check_user(assertion, username, user_object_id)
    form = base_form(
        GRANT_TYPE, client_id=client_id, scopes=scopes, claims=claims, client_info=True
    )
    form[CREDENTIAL_FIELD] = assertion
    if user_object_id:
        form["user_id"] = str(user_object_id)
    else:
        form["username"] = str(username)
    return form
