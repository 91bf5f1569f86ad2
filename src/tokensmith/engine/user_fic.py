"""``acquire_token_by_user_federated_identity_credential``: Entra's ``user_fic`` grant
(:mod:`tokensmith.protocol.user_fic`), always sent to the provider (MSAL does not
look in the cache first either); what comes back is cached as a user sign-in
(``account_source`` ``user_fic``), so ``acquire_token_silent`` serves it later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokensmith.engine.context import AppContext
from tokensmith.engine.results import TokenResult
from tokensmith.engine.token_call import extra_form_fields, obtain
from tokensmith.entra import headers as api
from tokensmith.entra.headers import anchor_for_username
from tokensmith.errors import ConfigurationError
from tokensmith.protocol import user_fic
from tokensmith.protocol.effects import Flow

__all__ = ["acquire_token_by_user_fic"]


def acquire_token_by_user_fic(
    ctx: AppContext,
    scopes: Any,
    assertion: Any,
    username: str | None,
    user_object_id: str | None,
    claims_challenge: str | None,
    kwargs: Mapping[str, Any],
) -> Flow[TokenResult]:
    """The flow of the method (arguments checked now, in MSAL's order).

    Raises:
        ValueError: an empty assertion; neither or both of ``username`` and
            ``user_object_id``; bad scopes, claims or authority.
    """
    user_fic.check_user(assertion, username, user_object_id)
    if kwargs.get("forwarded_client_claims") is not None:
        raise ConfigurationError(
            "forwarded_client_claims is not supported on this method yet (tokensmith issue 9)"
        )
    handle = ctx.handle(kwargs.get("authority"))
    form = user_fic.user_fic_form(
        client_id=ctx.client_id,
        assertion=assertion,
        scopes=ctx.decorate(scopes),
        username=username,
        user_object_id=user_object_id,
        claims=ctx.claims(claims_challenge),
    )
    if user_object_id:
        anchor = f"Oid:{user_object_id}@{handle.spec.tenant}"
    else:
        anchor = anchor_for_username(str(username))
    data = extra_form_fields(kwargs.get("data"))
    if username:  # the Account's username when the id_token names none (as MSAL)
        data["username"] = str(username)
    return obtain(
        ctx,
        handle,
        form,
        api=api.ACQUIRE_TOKEN_BY_USER_FIC,
        scopes=form["scope"].split(),
        grant_type=user_fic.GRANT_TYPE,
        data=data,
        anchor=anchor,
    )
