"""Authorization code grant (RFC 6749 §4.1) with PKCE (RFC 7636) and OIDC parameters.

:func:`build_authorization_url` builds the request of §4.1.1 (plus OIDC Core §3.1.2.1
``nonce``/``prompt``/``max_age``/``claims`` and Entra's ``client_info=1`` and
``X-AnchorMailbox``), in the parameter order MSAL Python uses.
:func:`parse_authorization_response` reads the redirect back (§4.1.2, §4.1.2.1) and
checks its ``state`` (§10.12, CSRF).
:func:`authorization_code_form` builds the redemption body of §4.1.3.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from tokensmith.errors import ProtocolError
from tokensmith.protocol._forms import base_form
from tokensmith.protocol.scopes import scope_string

__all__ = [
    "GRANT_TYPE",
    "AuthorizationResponse",
    "authorization_code_form",
    "build_authorization_url",
    "parse_authorization_response",
    "state_matches",
]

GRANT_TYPE = "authorization_code"


def build_authorization_url(
    authorization_endpoint: str,
    *,
    client_id: str,
    redirect_uri: str | None,
    scopes: Iterable[str],
    state: str | None = None,
    code_challenge: str | None = None,
    nonce: str | None = None,
    response_mode: str | None = None,
    prompt: str | None = None,
    login_hint: str | None = None,
    domain_hint: str | None = None,
    claims: str | None = None,
    max_age: int | None = None,
    extra_params: Mapping[str, str | None] | None = None,
    response_type: str = "code",
    client_info: bool = True,
) -> str:
    """Return the URL to send the browser to.

    Args:
        authorization_endpoint: may already carry a query (B2C ``?p=policy``).
        scopes: sent sorted and space-separated (decorate them first).
        code_challenge: the ``S256`` challenge; ``code_challenge_method=S256`` is added.
        nonce: sent verbatim. MSAL sends the SHA-256 hex of a secret random value
            (:func:`tokensmith.protocol.oidc.nonce.nonce_hash`), and so should callers.
        login_hint: also sent as ``X-AnchorMailbox=UPN:<login_hint>`` (Entra routing).
        extra_params: appended before ``X-AnchorMailbox``; ``None`` values are dropped.
        client_info: send Entra's ``client_info=1``.

    Returns:
        The endpoint with the parameters form-encoded (spaces as ``+``).
    """
    params: dict[str, str | None] = {
        "client_id": client_id,
        "response_type": response_type,
        "redirect_uri": redirect_uri,
        "scope": scope_string(scopes) or None,
        "state": state,
        "response_mode": response_mode,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256" if code_challenge else None,
        "nonce": nonce,
        "client_info": "1" if client_info else None,
        "login_hint": login_hint,
        "prompt": prompt,
        "domain_hint": domain_hint,
        "claims": claims,
        "max_age": None if max_age is None else str(int(max_age)),
    }
    params.update(extra_params or {})
    if login_hint:
        params["X-AnchorMailbox"] = f"UPN:{login_hint}"
    query = urlencode({k: v for k, v in params.items() if v is not None})
    separator = "&" if "?" in authorization_endpoint else "?"
    return f"{authorization_endpoint}{separator}{query}"


def authorization_code_form(
    *,
    client_id: str,
    code: str,
    redirect_uri: str | None,
    code_verifier: str | None = None,
    scopes: Iterable[str] | None = None,
    claims: str | None = None,
    client_info: bool = True,
) -> dict[str, str]:
    """Return the code redemption body (``code`` and ``code_verifier`` are secret fields).

    ``redirect_uri`` must be the one sent in the authorization request (RFC 6749
    §4.1.3). ``scope`` is Entra's extension selecting the resource.

    Raises:
        ValueError: ``code`` is not a non-empty string.
    """
    if not isinstance(code, str) or not code:
        raise ValueError("the authorization code must be a non-empty string")
    form = base_form(
        GRANT_TYPE, client_id=client_id, scopes=scopes, claims=claims, client_info=client_info
    )
    form["code"] = code
    if redirect_uri:
        form["redirect_uri"] = redirect_uri
    if code_verifier:
        form["code_verifier"] = code_verifier
    return form


@dataclass(frozen=True, slots=True)
class AuthorizationResponse:
    """The parameters of a redirect back from the authorization endpoint.

    Exactly one of ``code`` (success, §4.1.2) and ``error`` (§4.1.2.1) is set. The
    code is a secret: it is not in the repr.
    """

    code: str | None
    state: str | None
    error: str | None = None
    error_description: str | None = None
    error_uri: str | None = None
    client_info: str | None = None

    def __repr__(self) -> str:
        outcome = f"error={self.error!r}" if self.error else "code=***"
        return f"AuthorizationResponse({outcome})"


def state_matches(expected: str | None, received: object) -> bool:
    """Compare ``state`` values in constant time; a missing expected state matches any."""
    if expected is None:
        return True
    if not isinstance(received, str):
        return False
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))


def _single(params: Mapping[str, object], name: str) -> str | None:
    value = params.get(name)
    if isinstance(value, (list, tuple)):
        value = value[0] if len(value) == 1 else None
    return value if isinstance(value, str) and value else None


def parse_authorization_response(
    params: Mapping[str, object], *, expected_state: str | None
) -> AuthorizationResponse:
    """Read an authorization response (query or ``form_post`` parameters).

    Args:
        params: the parameters; a one-item list (as ``parse_qs`` gives) counts as its item.
        expected_state: the ``state`` sent in the request; None skips the check.

    Raises:
        ProtocolError: the ``state`` does not match (a forged or stale response), or
            the response carries neither ``code`` nor ``error``. Messages never quote
            the parameters.
    """
    if not state_matches(expected_state, _single(params, "state")):
        raise ProtocolError("state mismatch: the response does not answer this request")
    code, error = _single(params, "code"), _single(params, "error")
    if error is None and code is None:
        raise ProtocolError('the authorization response has neither "code" nor "error"')
    return AuthorizationResponse(
        code=None if error else code,
        state=_single(params, "state"),
        error=error,
        error_description=_single(params, "error_description"),
        error_uri=_single(params, "error_uri"),
        client_info=_single(params, "client_info"),
    )
