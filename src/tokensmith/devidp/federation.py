"""The dev IdP as the federation server (AD FS) of its ``[[federated_domains]]``.

Under ``/federation/{domain}/adfs/services/trust/``:

* ``GET mex``: the WS-MetadataExchange document (:mod:`.mex_document`);
* ``POST 13/usernamemixed``, ``POST 2005/usernamemixed``: WS-Trust 1.3 / 2005 Issue
  with a WS-Security UsernameToken, answered with an RSTR carrying a SAML assertion
  (:mod:`.saml`), or a SOAP 1.2 fault with HTTP 500 as AD FS answers (a wrong password:
  subcode ``a:FailedAuthentication``, "ID3242: The security token could not be
  authenticated or authorized.");
* ``POST {13,2005}/windowstransport``: 401 ``WWW-Authenticate: Negotiate`` (Windows
  integrated sign-in is not simulated).

User realm discovery answers ``Federated`` for these domains (:func:`user_realm`), and
the token endpoint redeems the assertions (:func:`tokensmith.devidp.saml.redeem_assertion`).
"""

from __future__ import annotations

import calendar
import hmac
import time
import uuid
from typing import Any
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from tokensmith._safexml import parse
from tokensmith.devidp.config import User
from tokensmith.devidp.context import Context
from tokensmith.devidp.federated_domains import FederatedDomain
from tokensmith.devidp.mex_document import ACTION_13, ACTION_2005, mex_document
from tokensmith.devidp.saml import AUDIENCE, SAML1, SAML2, issue_assertion
from tokensmith.devidp.wire import Request, Response
from tokensmith.errors import ProtocolError

__all__ = ["federated_domain", "handle", "user_realm"]

_S = "http://www.w3.org/2003/05/soap-envelope"
_WSA = "http://www.w3.org/2005/08/addressing"
_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_TRUST = {
    "13": "http://docs.oasis-open.org/ws-sx/ws-trust/200512",
    "2005": "http://schemas.xmlsoap.org/ws/2005/02/trust",
}
_ACTION = {"13": ACTION_13, "2005": ACTION_2005}
_RSTR_ACTION = {
    "13": "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RSTRC/IssueFinal",
    "2005": "http://schemas.xmlsoap.org/ws/2005/02/trust/RSTR/Issue",
}
_KEY_TYPE = {
    "13": "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Bearer",
    "2005": "http://schemas.xmlsoap.org/ws/2005/05/identity/NoProofKey",
}
_REQUEST_TYPE = {
    "13": "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue",
    "2005": "http://schemas.xmlsoap.org/ws/2005/02/trust/Issue",
}
_SOAP = {"Content-Type": "application/soap+xml; charset=utf-8"}
_FAILED = (
    "a:FailedAuthentication",
    "ID3242: The security token could not be authenticated or authorized.",
)


class _Fault(Exception):
    def __init__(self, subcode: str, reason: str, sender: bool = True) -> None:
        super().__init__(subcode)
        self.subcode, self.reason, self.sender = subcode, reason, sender


def federated_domain(ctx: Context, username: str) -> FederatedDomain | None:
    """The configured federated domain ``username`` belongs to, if any."""
    return next((d for d in ctx.config.federated_domains if d.owns(username)), None)


def _trust_url(ctx: Context, domain: FederatedDomain) -> str:
    return f"{ctx.base_url}/federation/{domain.domain}/adfs/services/trust"


def user_realm(ctx: Context, username: str) -> dict[str, Any] | None:
    """Entra's user realm answer for a federated domain's user, else None."""
    domain = federated_domain(ctx, username)
    if domain is None:
        return None
    trust = _trust_url(ctx, domain)
    active = "2005" if "2005" in domain.wstrust else "13"
    body: dict[str, Any] = {
        "ver": "1.0",
        "account_type": "Federated",
        "domain_name": domain.domain,
        "federation_protocol": "WSTrust",
        "federation_active_auth_url": f"{trust}/{active}/usernamemixed",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_audience_urn": AUDIENCE,
    }
    if domain.mex:
        body["federation_metadata_url"] = f"{trust}/mex"
    return body


def handle(ctx: Context, req: Request, lowered: list[str]) -> Response | None:
    """Answer a federation-server path, or None when ``lowered`` is not one."""
    if lowered[:1] != ["federation"] or lowered[2:5] != ["adfs", "services", "trust"]:
        return None
    domain = next((d for d in ctx.config.federated_domains if d.domain == lowered[1]), None)
    rest = lowered[5:]
    if domain is None:
        return None
    if rest == ["mex"]:
        document = mex_document(_trust_url(ctx, domain), domain.wstrust)
        return Response(200, document.encode("utf-8"), dict(_SOAP))
    if len(rest) != 2 or rest[0] not in _TRUST:
        return None
    if rest[1] == "windowstransport":
        return Response(401, b"", {"WWW-Authenticate": "Negotiate"})
    version = "1.3" if rest[0] == "13" else "2005"
    if rest[1] != "usernamemixed" or version not in domain.wstrust:
        return None
    try:
        if req.method != "POST":
            raise _Fault("a:InvalidRequest", "MSIS7065: The endpoint only accepts POST.")
        return _issue(ctx, req, domain, rest[0])
    except _Fault as fault:
        return _fault_response(fault)


def _text(root: Element, path: str) -> str:
    element = root.find(path, {"s": _S, "wsa": _WSA, "wsu": _WSU, "wsse": _WSSE})
    return (element.text or "").strip() if element is not None else ""


def _envelope(req: Request) -> Element:
    try:
        return parse(req.body.decode("utf-8"), "the RST").root
    except (UnicodeDecodeError, ProtocolError):
        raise _Fault(
            "a:InvalidRequest", "MSIS7000: The request is not a valid SOAP envelope."
        ) from None


def _check_request(ctx: Context, root: Element, req: Request, path: str) -> None:
    action = _text(root, "s:Header/wsa:Action")
    soap_action = req.headers.get("soapaction", action).strip('"')
    if action != _ACTION[path] or soap_action != action:
        raise _Fault("a:ActionNotSupported", f"The action {action[:100]!r} is not supported.")
    expires = _text(root, "s:Header/wsse:Security/wsu:Timestamp/wsu:Expires")
    if expires and _epoch(expires) < ctx.clock():
        raise _Fault("a:MessageExpired", "ID4148: The security header has expired.")
    trust = _TRUST[path]
    rst = root.find(f"{{{_S}}}Body/{{{trust}}}RequestSecurityToken")
    if rst is None:
        raise _Fault("a:InvalidRequest", "ID3035: The request was not valid or is malformed.")
    applies = rst.find(
        "{http://schemas.xmlsoap.org/ws/2004/09/policy}AppliesTo/"
        f"{{{_WSA}}}EndpointReference/{{{_WSA}}}Address"
    )
    if applies is None or (applies.text or "").strip() != AUDIENCE:
        raise _Fault("a:InvalidScope", "ID3082: The request scope is not valid or is unsupported.")
    key_type = rst.find(f"{{{trust}}}KeyType")
    request_type = rst.find(f"{{{trust}}}RequestType")
    if (
        key_type is None
        or (key_type.text or "").strip() != _KEY_TYPE[path]
        or request_type is None
        or (request_type.text or "").strip() != _REQUEST_TYPE[path]
    ):
        raise _Fault("a:InvalidRequest", "ID3035: The request was not valid or is malformed.")


def _epoch(instant: str) -> float:
    try:
        return float(calendar.timegm(time.strptime(instant[:19], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        raise _Fault("a:InvalidSecurity", "ID4070: The timestamp is not valid.") from None


def _user(ctx: Context, root: Element, domain: FederatedDomain) -> User:
    token = "s:Header/wsse:Security/wsse:UsernameToken/"
    username, password = _text(root, token + "wsse:Username"), _text(root, token + "wsse:Password")
    user = ctx.config.user(username) if domain.owns(username) else None
    secret = user.password if user is not None else "\0"
    if user is None or not hmac.compare_digest(password.encode(), secret.encode()):
        raise _Fault(*_FAILED)
    return user


def _issue(ctx: Context, req: Request, domain: FederatedDomain, path: str) -> Response:
    root = _envelope(req)
    _check_request(ctx, root, req, path)
    user = _user(ctx, root, domain)
    assertion = issue_assertion(ctx, user, domain.token_type, _trust_url(ctx, domain))
    token_type = SAML2 if domain.token_type == "saml2" else SAML1
    relates_to = _text(root, "s:Header/wsa:MessageID")
    return Response(200, _rstr(ctx, path, assertion, token_type, relates_to), dict(_SOAP))


def _instant(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch))


def _rstr(ctx: Context, path: str, assertion: str, token_type: str, relates_to: str) -> bytes:
    now = ctx.clock()
    created, expires = _instant(now), _instant(now + 3600)
    trust = _TRUST[path]
    lifetime = (
        f"<t:Lifetime><u:Created>{created}</u:Created><u:Expires>{expires}</u:Expires></t:Lifetime>"
    )
    response = (
        f"<t:RequestSecurityTokenResponse>{lifetime}"
        "<wsp:AppliesTo xmlns:wsp='http://schemas.xmlsoap.org/ws/2004/09/policy'>"
        f"<a:EndpointReference><a:Address>{AUDIENCE}</a:Address></a:EndpointReference>"
        "</wsp:AppliesTo>"
        f"<t:RequestedSecurityToken>{assertion}</t:RequestedSecurityToken>"
        f"<t:TokenType>{token_type}</t:TokenType>"
        f"<t:RequestType>{_REQUEST_TYPE[path]}</t:RequestType>"
        f"<t:KeyType>{_KEY_TYPE[path]}</t:KeyType>"
        "</t:RequestSecurityTokenResponse>"
    )
    if path == "13":
        response = (
            f"<t:RequestSecurityTokenResponseCollection>{response}"
            "</t:RequestSecurityTokenResponseCollection>"
        )
    envelope = (
        f"<s:Envelope xmlns:s='{_S}' xmlns:a='{_WSA}' xmlns:u='{_WSU}'><s:Header>"
        f"<a:Action s:mustUnderstand='1'>{_RSTR_ACTION[path]}</a:Action>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo>"
        f"<o:Security s:mustUnderstand='1' xmlns:o='{_WSSE}'><u:Timestamp u:Id='_0'>"
        f"<u:Created>{created}</u:Created><u:Expires>{_instant(now + 300)}</u:Expires>"
        "</u:Timestamp></o:Security></s:Header>"
        f"<s:Body xmlns:t='{trust}'>{response}</s:Body></s:Envelope>"
    )
    return envelope.encode("utf-8")


def _fault_response(fault: _Fault) -> Response:
    code = "s:Sender" if fault.sender else "s:Receiver"
    body = (
        f"<s:Envelope xmlns:s='{_S}' xmlns:a='{_WSA}'><s:Header>"
        "<a:Action s:mustUnderstand='1'>http://www.w3.org/2005/08/addressing/soap/fault"
        f"</a:Action><a:MessageID>urn:uuid:{uuid.uuid4()}</a:MessageID></s:Header>"
        f"<s:Body><s:Fault><s:Code><s:Value>{code}</s:Value><s:Subcode>"
        f"<s:Value xmlns:a='{_WSSE}'>{fault.subcode}</s:Value></s:Subcode></s:Code>"
        f"<s:Reason><s:Text xml:lang='en-US'>{escape(fault.reason)}</s:Text></s:Reason>"
        "</s:Fault></s:Body></s:Envelope>"
    )
    return Response(500, body.encode("utf-8"), dict(_SOAP))
