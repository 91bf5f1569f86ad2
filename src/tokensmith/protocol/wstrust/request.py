"""The WS-Trust RequestSecurityToken (Issue) with a WS-Security UsernameToken.

One SOAP 1.2 envelope for both versions, as MSAL Python sends it: WS-Addressing headers
(``Action``, a fresh ``MessageID``, anonymous ``ReplyTo``, ``To``), a ``wsse:Security``
header with a ``wsu:Timestamp`` (now, now + 10 minutes, ``YYYY-MM-DDTHH:MM:SSZ``) and
the ``UsernameToken`` (password in clear: the endpoint is https), then the RST asking
for a bearer token applying to ``cloud_audience_urn``.

=============  ===================================  ======================================
               WS-Trust 1.3                         WS-Trust 2005
=============  ===================================  ======================================
namespace      ``docs.oasis-open.org/ws-sx/         ``schemas.xmlsoap.org/ws/2005/02/trust``
               ws-trust/200512``
KeyType        ``.../ws-trust/200512/Bearer``       ``.../ws/2005/05/identity/NoProofKey``
RequestType    ``.../ws-trust/200512/Issue``        ``.../ws/2005/02/trust/Issue``
=============  ===================================  ======================================
"""

from __future__ import annotations

import time
import uuid
from xml.sax.saxutils import escape

from tokensmith.errors import ProtocolError
from tokensmith.protocol.http import HttpRequest
from tokensmith.protocol.wstrust.names import ACTION_13, ACTION_2005, NS

__all__ = ["DEFAULT_AUDIENCE", "action_for", "rst_envelope", "rst_request"]

DEFAULT_AUDIENCE = "urn:federation:MicrosoftOnline"
"""``cloud_audience_urn`` when user realm discovery gives none (Entra's own)."""

_LIFETIME = 600
_ATTRIBUTE = {'"': "&quot;", "'": "&apos;"}
_VERSIONED = {
    ACTION_13: (
        NS["wst"],
        "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Bearer",
        "http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue",
    ),
    ACTION_2005: (
        NS["wst2005"],
        "http://schemas.xmlsoap.org/ws/2005/05/identity/NoProofKey",
        "http://schemas.xmlsoap.org/ws/2005/02/trust/Issue",
    ),
}


def _xml(value: str) -> str:
    """``value`` escaped for element text and single- or double-quoted attributes."""
    return escape(value, _ATTRIBUTE)


def _wsu_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def action_for(address: str, action: str | None) -> str:
    """The SOAP action to use at ``address``: the MEX document's, else guessed from AD FS's
    path (``/trust/13/usernamemixed``, ``/trust/2005/usernamemixed``) as MSAL does.

    Raises:
        ProtocolError: an empty address, or an action that is neither 1.3 nor 2005's
            (a ``ValueError``, as MSAL raises).
    """
    if not address:
        raise ProtocolError("WsTrust endpoint address can not be empty")
    if action is None:
        if "/trust/2005/usernamemixed" in address:
            action = ACTION_2005
        elif "/trust/13/usernamemixed" in address:
            action = ACTION_13
    if action not in _VERSIONED:
        shown = ascii(action)[:200]
        raise ProtocolError(
            f"Unsupported soap action: {shown}. "
            "Contact your administrator to check your ADFS's MEX settings."
        )
    return action


def rst_envelope(
    *,
    username: str,
    password: str,
    audience: str,
    address: str,
    action: str,
    now: float,
    message_id: str | None = None,
) -> str:
    """The SOAP envelope of the RST (``action`` is :data:`ACTION_13` or :data:`ACTION_2005`)."""
    wst, key_type, request_type = _VERSIONED[action]
    created, expires = _wsu_time(now), _wsu_time(now + _LIFETIME)
    message = message_id or f"urn:uuid:{uuid.uuid4()}"
    return (
        f"<s:Envelope xmlns:s='{NS['s']}' xmlns:wsa='{NS['wsa']}' xmlns:wsu='{NS['wsu']}'>"
        "<s:Header>"
        f"<wsa:Action s:mustUnderstand='1'>{action}</wsa:Action>"
        f"<wsa:MessageID>{_xml(message)}</wsa:MessageID>"
        "<wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous"
        "</wsa:Address></wsa:ReplyTo>"
        f"<wsa:To s:mustUnderstand='1'>{_xml(address)}</wsa:To>"
        f"<wsse:Security s:mustUnderstand='1' xmlns:wsse='{NS['wsse']}'>"
        f"<wsu:Timestamp wsu:Id='_0'><wsu:Created>{created}</wsu:Created>"
        f"<wsu:Expires>{expires}</wsu:Expires></wsu:Timestamp>"
        "<wsse:UsernameToken wsu:Id='ADALUsernameToken'>"
        f"<wsse:Username>{_xml(username)}</wsse:Username>"
        f"<wsse:Password>{_xml(password)}</wsse:Password>"
        "</wsse:UsernameToken></wsse:Security>"
        "</s:Header>"
        "<s:Body>"
        f"<wst:RequestSecurityToken xmlns:wst='{wst}'>"
        f"<wsp:AppliesTo xmlns:wsp='{NS['wsp']}'><wsa:EndpointReference>"
        f"<wsa:Address>{_xml(audience)}</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>"
        f"<wst:KeyType>{key_type}</wst:KeyType>"
        f"<wst:RequestType>{request_type}</wst:RequestType>"
        "</wst:RequestSecurityToken>"
        "</s:Body>"
        "</s:Envelope>"
    )


def rst_request(
    *, username: str, password: str, audience: str, address: str, action: str, now: float
) -> HttpRequest:
    """The POST of the RST: ``Content-Type: application/soap+xml``, the ``SOAPAction``
    header, sent once (a wrong password is answered with HTTP 500: no retry, no
    replay of that answer to a later attempt)."""
    envelope = rst_envelope(
        username=username,
        password=password,
        audience=audience,
        address=address,
        action=action,
        now=now,
    )
    return HttpRequest(
        "POST",
        address,
        headers={"Content-Type": "application/soap+xml; charset=utf-8", "SOAPAction": action},
        content=envelope,
        retry_on_status=False,
    )
