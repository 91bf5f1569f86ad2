"""``acquire_token_by_user_federated_identity_credential``: Entra's ``user_fic`` grant
(:mod:`tokensmith.protocol.user_fic`), always sent to the provider (MSAL does not
look in the cache first either); what comes back is cached as a user sign-in
(``account_source`` ``user_fic``), so ``acquire_token_silent`` serves it later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokensmith.engine.context import AppContext
from tokensmith.engine.keywords import check_keywords, request_data, wire_claims
from tokensmith.engine.results import TokenResult
from tokensmith.engine.token_call import obtain
from tokensmith.entra import headers as api
from tokensmith.entra.headers import anchor_for_username
from tokensmith.protocol import user_fic
from tokensmith.protocol.effects import Flow

__all__ = ["acquire_token_by_user_fic"]

_ACCEPTED = frozenset({"data", "authority"})
"""The keywords of the method beyond its named parameters."""


def acquire_token_by_user_fic(
    ctx: AppContext,
    scopes: Any,
    assertion: Any,
    username: str | None,
    user_object_id: str | None,
    claims_challenge: str | None,
    kwargs: Mapping[str, Any],
    *,
    forwarded_client_claims: object = None,
) -> Flow[TokenResult]:
    """The flow of the method (arguments checked now, in MSAL's order). Tokens
    obtained with ``forwarded_client_claims`` (merged into ``claims``) are cached under
    their extended key, as MSAL caches them.

    Raises:
        ValueError: an empty assertion; neither or both of ``username`` and
            ``user_object_id``; bad scopes, claims or authority; forwarded claims
            that are not a JSON object string.
        TypeError: a keyword this method does not take.
    """
    check_keywords("acquire_token_by_user_federated_identity_credential", kwargs, _ACCEPTED)
    user_fic.check_user(assertion, username, user_object_id)
    handle = ctx.handle(kwargs.get("authority"))
    data = request_data(kwargs.get("data"), forwarded_client_claims=forwarded_client_claims)
    form = user_fic.user_fic_form(
        client_id=ctx.client_id,
        assertion=assertion,
        scopes=ctx.decorate(scopes),
        username=username,
        user_object_id=user_object_id,
        claims=wire_claims(ctx, claims_challenge, data),
    )
    if user_object_id:
        anchor = f"Oid:{user_object_id}@{handle.spec.tenant}"
    else:
        anchor = anchor_for_username(str(username))
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
