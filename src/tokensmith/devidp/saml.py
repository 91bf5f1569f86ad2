"""The SAML assertions the dev IdP's federation server issues, and their redemption.

Like AD FS for Entra, an assertion says who signed in (``UPN`` and ``ImmutableID``
attributes of the ``http://schemas.microsoft.com/LiveID/Federation/2008/05``
namespace, the subject's name identifier), for whom (audience
``urn:federation:MicrosoftOnline``), until when, and how (password). SAML 1.1
(``saml:Assertion MajorVersion="1" MinorVersion="1"``) or 2.0, as the domain is
configured.

It carries no XML signature (neither MSAL nor tokensmith checks one: only the token
endpoint reads it). Instead its id is a ticket: ``"_"`` and a JWS, signed with the dev
IdP's key, of the user, the SAML version, the audience and the expiry. The token
endpoint accepts an assertion only when that ticket verifies, is unexpired, and names
the same user and version as the assertion around it, so it redeems only assertions
it issued.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

from tokensmith._jwt import decode_jwt_claims
from tokensmith._safexml import parse
from tokensmith.devidp.config import User
from tokensmith.devidp.context import Context
from tokensmith.devidp.errors import OAuthError
from tokensmith.devidp.jws import sign_rs256, verify_token
from tokensmith.errors import ProtocolError

__all__ = ["AUDIENCE", "SAML1", "SAML2", "issue_assertion", "redeem_assertion"]

AUDIENCE = "urn:federation:MicrosoftOnline"
SAML1 = "urn:oasis:names:tc:SAML:1.0:assertion"
SAML2 = "urn:oasis:names:tc:SAML:2.0:assertion"
LIFETIME = 3600
_LIVE_ID = "http://schemas.microsoft.com/LiveID/Federation/2008/05"
_BEARER1 = "urn:oasis:names:tc:SAML:1.0:cm:bearer"
_BEARER2 = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
_PASSWORD1 = "urn:oasis:names:tc:SAML:1.0:am:password"
_PASSWORD2 = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
_TICKET_USE = "devidp-saml-ticket"
_GRANT_VERSION = {
    "urn:ietf:params:oauth:grant-type:saml1_1-bearer": SAML1,
    "urn:ietf:params:oauth:grant-type:saml2-bearer": SAML2,
}


def _instant(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch))


def immutable_id(user: User) -> str:
    """What AD FS sends as ``ImmutableID``: the base64 of the user's object GUID."""
    return base64.b64encode(bytes.fromhex(user.oid.replace("-", ""))).decode("ascii")


def _ticket(ctx: Context, user: User, version: str, now: int) -> str:
    claims = {
        "use": _TICKET_USE,
        "upn": user.username,
        "ver": version,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + LIFETIME,
        "jti": secrets.token_urlsafe(12),
    }
    return "_" + sign_rs256(claims, ctx.keys.signing_key, ctx.keys.kid)


def _attributes(user: User, saml1: bool) -> str:
    """The ``UPN`` and ``ImmutableID`` attributes (1.1 names them ``AttributeName`` in
    ``AttributeNamespace``, 2.0 ``Name``)."""
    named = f"AttributeNamespace={quoteattr(_LIVE_ID)} AttributeName=" if saml1 else "Name="
    items = (("UPN", user.username), ("ImmutableID", immutable_id(user)))
    return "".join(
        f"<saml:Attribute {named}{quoteattr(key)}>"
        f"<saml:AttributeValue>{escape(text)}</saml:AttributeValue></saml:Attribute>"
        for key, text in items
    )


def _saml1(ctx: Context, user: User, issuer: str, now: int) -> str:
    begin, end = _instant(now), _instant(now + LIFETIME)
    subject = (
        "<saml:Subject><saml:NameIdentifier "
        "Format='urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'>"
        f"{escape(immutable_id(user))}</saml:NameIdentifier><saml:SubjectConfirmation>"
        f"<saml:ConfirmationMethod>{_BEARER1}</saml:ConfirmationMethod>"
        "</saml:SubjectConfirmation></saml:Subject>"
    )
    return (
        f"<saml:Assertion xmlns:saml='{SAML1}' MajorVersion='1' MinorVersion='1' "
        f"AssertionID={quoteattr(_ticket(ctx, user, '1.1', now))} "
        f"Issuer={quoteattr(issuer)} IssueInstant='{begin}'>"
        f"<saml:Conditions NotBefore='{begin}' NotOnOrAfter='{end}'>"
        "<saml:AudienceRestrictionCondition>"
        f"<saml:Audience>{AUDIENCE}</saml:Audience>"
        "</saml:AudienceRestrictionCondition></saml:Conditions>"
        f"<saml:AttributeStatement>{subject}"
        + _attributes(user, saml1=True)
        + "</saml:AttributeStatement>"
        f"<saml:AuthenticationStatement AuthenticationMethod='{_PASSWORD1}' "
        f"AuthenticationInstant='{begin}'>{subject}</saml:AuthenticationStatement>"
        "</saml:Assertion>"
    )


def _saml2(ctx: Context, user: User, issuer: str, now: int) -> str:
    begin, end = _instant(now), _instant(now + LIFETIME)
    return (
        f"<saml:Assertion xmlns:saml='{SAML2}' Version='2.0' "
        f"ID={quoteattr(_ticket(ctx, user, '2.0', now))} IssueInstant='{begin}'>"
        f"<saml:Issuer>{escape(issuer)}</saml:Issuer>"
        f"<saml:Subject><saml:NameID>{escape(immutable_id(user))}</saml:NameID>"
        f"<saml:SubjectConfirmation Method='{_BEARER2}'>"
        f"<saml:SubjectConfirmationData NotOnOrAfter='{end}'/>"
        "</saml:SubjectConfirmation></saml:Subject>"
        f"<saml:Conditions NotBefore='{begin}' NotOnOrAfter='{end}'>"
        f"<saml:AudienceRestriction><saml:Audience>{AUDIENCE}</saml:Audience>"
        "</saml:AudienceRestriction></saml:Conditions>"
        "<saml:AttributeStatement>" + _attributes(user, saml1=False) + "</saml:AttributeStatement>"
        f"<saml:AuthnStatement AuthnInstant='{begin}'><saml:AuthnContext>"
        f"<saml:AuthnContextClassRef>{_PASSWORD2}</saml:AuthnContextClassRef>"
        "</saml:AuthnContext></saml:AuthnStatement>"
        "</saml:Assertion>"
    )


def issue_assertion(ctx: Context, user: User, token_type: str, issuer: str) -> str:
    """A SAML assertion for ``user`` (``token_type`` ``saml1.1`` or ``saml2``)."""
    now = int(ctx.clock())
    build = _saml2 if token_type == "saml2" else _saml1
    return build(ctx, user, issuer, now)


def _invalid(message: str, code: int = 50008) -> OAuthError:
    return OAuthError("invalid_grant", code, message)


def _upn_of(root: Element, namespace: str) -> str | None:
    for attribute in root.iter(f"{{{namespace}}}Attribute"):
        name = attribute.get("AttributeName") or attribute.get("Name")
        value = attribute.find(f"{{{namespace}}}AttributeValue")
        if name == "UPN" and value is not None:
            return (value.text or "").strip()
    return None


def _assertion_root(encoded: str) -> Element:
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        return parse(raw.decode("utf-8"), "the SAML assertion").root
    except (binascii.Error, ValueError, ProtocolError):
        raise _invalid("SAML token is invalid: it is not a base64url XML assertion.") from None


def redeem_assertion(ctx: Context, encoded: str, grant_type: str) -> User:
    """The user of an assertion this dev IdP issued, checked.

    Raises:
        OAuthError: ``invalid_grant``: not base64url XML, the wrong SAML version for the
            grant type, a ticket that does not verify, an expired one, a user that is
            gone.
    """
    root = _assertion_root(encoded)
    namespace = _GRANT_VERSION[grant_type]
    if root.tag != f"{{{namespace}}}Assertion":
        raise _invalid("SAML token is invalid: its version does not match the grant type.")
    ticket = (root.get("AssertionID") or root.get("ID") or "")[1:]
    if not verify_token(ticket, ctx.keys.signing_key.public_key()):
        raise _invalid("Signature verification failed because of an invalid signature.", 50006)
    claims = decode_jwt_claims(ticket, "ticket")
    version = "1.1" if namespace == SAML1 else "2.0"
    same = claims.get("ver") == version and claims.get("upn") == _upn_of(root, namespace)
    if claims.get("use") != _TICKET_USE or not same:
        raise _invalid("SAML token is invalid: its ticket does not match its content.")
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp < ctx.clock():
        raise _invalid("The SAML token has expired.", 50013)
    user = ctx.config.user(str(claims.get("upn")))
    if user is None:
        raise _invalid("The user account does not exist in the directory.", 50034)
    return user
