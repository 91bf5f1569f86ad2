"""Client authentication at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2;
reference/entra-protocol.md §4.1 and §4.3).

Accepted liberally: ``client_secret`` in the body or HTTP Basic; a client assertion
signed RS256 (``x5t``) or PS256 (``x5t#S256``), thumbprints padded or not, ``exp`` and
``iat`` as floats, ``nbf`` optional.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from tokensmith._jwt import decode_jwt_claims
from tokensmith.devidp.config import App
from tokensmith.devidp.context import Context
from tokensmith.devidp.errors import OAuthError, missing_parameter
from tokensmith.devidp.jws import decode_header, verify_token
from tokensmith.devidp.keys import thumbprints
from tokensmith.devidp.wire import Request
from tokensmith.errors import ProtocolError

__all__ = ["ClientAuth", "authenticate_client"]

JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_SKEW = 300


@dataclass(frozen=True)
class ClientAuth:
    """An identified client and how it authenticated (``azpacr``: 0, 1 or 2)."""

    app: App
    azpacr: str

    @property
    def confidential(self) -> bool:
        """Whether the client proved a credential."""
        return self.azpacr != "0"


def _invalid_client(code: int, message: str) -> OAuthError:
    return OAuthError("invalid_client", code, message, status=401)


def _basic(req: Request) -> tuple[str, str] | None:
    header = req.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # also non-ASCII text and bad UTF-8
        raise _invalid_client(7000215, "The Authorization header is malformed.") from None
    user, _, password = decoded.partition(":")
    return unquote(user), unquote(password)


def authenticate_client(ctx: Context, req: Request) -> ClientAuth:
    """Identify the client and check its credential.

    Raises:
        OAuthError: unknown client (AADSTS700016), a credential from a public client
            (AADSTS700025), a missing (AADSTS7000218) or wrong (AADSTS7000215,
            AADSTS700027, AADSTS700024) credential.
    """
    basic = _basic(req)
    client_id = req.param("client_id") or (basic[0] if basic else None)
    if not client_id:
        raise missing_parameter("client_id")
    app = ctx.config.app(client_id)
    if app is None:
        raise OAuthError(
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory. "
            "This can happen if the application has not been installed by the administrator "
            "of the tenant or consented to by any user in the tenant.",
        )
    secret = req.param("client_secret") or (basic[1] if basic else None)
    assertion = req.param("client_assertion")
    if app.public:
        if secret or assertion:
            raise _invalid_client(
                700025,
                "Client is public so neither 'client_assertion' nor 'client_secret' "
                "should be presented.",
            )
        return ClientAuth(app, "0")
    if secret:
        typed = secret.encode("utf-8")
        if not any(hmac.compare_digest(typed, s.encode("utf-8")) for s in app.secrets):
            raise _invalid_client(
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request "
                f"is the client secret value, not the client secret ID, for a secret added to "
                f"app '{app.client_id}'.",
            )
        return ClientAuth(app, "1")
    if assertion:
        if req.param("client_assertion_type") != JWT_BEARER_ASSERTION:
            raise OAuthError(
                "invalid_request", 70002, "The client_assertion_type is not supported."
            )
        _check_assertion(ctx, app, assertion)
        return ClientAuth(app, "2")
    raise _invalid_client(
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or "
        "'client_secret'.",
    )


def _certificates(ctx: Context, app: App) -> list[str]:
    pems = list(app.certificates)
    generated = ctx.keys.client_cert_pems.get(app.client_id)
    if generated:
        pems.append(generated)
    return pems


def _check_assertion(ctx: Context, app: App, assertion: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

    try:
        header = decode_header(assertion)
        claims = decode_jwt_claims(assertion, "client_assertion")
    except (ProtocolError, RecursionError):
        raise _invalid_client(700027, "Client assertion is not a valid JWT.") from None
    wanted = {str(header.get(k, "")).rstrip("=") for k in ("x5t", "x5t#S256")} - {""}
    for pem in _certificates(ctx, app):
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
        prints = set(thumbprints(cert.public_bytes(serialization.Encoding.DER)))
        key = cert.public_key()
        if (not wanted or wanted & prints) and isinstance(key, RSAPublicKey):
            if verify_token(assertion, key):
                _check_assertion_claims(ctx, app, claims)
                return
            raise _invalid_client(700027, "Client assertion contains an invalid signature.")
    raise _invalid_client(
        700027,
        f"Client assertion failed signature validation: the key was not found among the "
        f"certificates registered for app '{app.client_id}'.",
    )


def _check_assertion_claims(ctx: Context, app: App, claims: dict[str, object]) -> None:
    if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
        raise _invalid_client(700023, "Client assertion 'iss' and 'sub' must be the client id.")
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    ours = urlsplit(ctx.base_url).netloc
    if not any(_is_token_endpoint(a, ours) for a in auds):
        raise _invalid_client(700016, "Client assertion audience must be the token endpoint.")
    now = ctx.clock()
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, (int, float)) or exp < now - _SKEW:
        raise _invalid_client(700024, "Client assertion is not within its valid time range.")
    if isinstance(nbf, (int, float)) and nbf > now + _SKEW:
        raise _invalid_client(700024, "Client assertion is not within its valid time range.")


def _is_token_endpoint(aud: object, netloc: str) -> bool:
    """Whether an assertion ``aud`` names a token endpoint of this server."""
    if not isinstance(aud, str):
        return False
    try:
        parts = urlsplit(aud)
    except ValueError:
        return False
    return parts.netloc == netloc and parts.path.endswith("/token")
