"""WS-MetadataExchange: find a federation server's username/password endpoint.

The MEX document (``federation_metadata_url`` of user realm discovery, AD FS's
``/adfs/services/trust/mex``) is a WSDL. Its policies say how each binding
authenticates; MSAL Python picks, as this module does:

* policies (``wsp:Policy`` children of the root, with a ``wsu:Id``) that require a
  transport binding and a WSS 1.0 username token: WS-SecurityPolicy 1.2's
  ``SignedEncryptedSupportingTokens`` or the 2005 draft's ``SignedSupportingTokens``
  (the ``usernamemixed`` endpoints; ``windowstransport`` ones ask for Negotiate and
  are not used);
* bindings over SOAP 1.2 on HTTP that reference such a policy, with their
  ``soapAction``;
* ports of those bindings whose address is ``https://``;
* the first with the WS-Trust 1.3 action, else the first of any.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

from tokensmith._safexml import parse
from tokensmith.protocol._wire import exchange, service_error
from tokensmith.protocol.effects import Flow
from tokensmith.protocol.http import HttpRequest
from tokensmith.protocol.wstrust.names import (
    ACTION_13,
    ACTION_2005,
    NS,
    SOAP_HTTP_TRANSPORT,
    qname,
)

__all__ = ["Endpoint", "discover_endpoint", "parse_mex"]

_POLICY_PATHS = (
    (
        "wsp:ExactlyOne/wsp:All/sp:SignedEncryptedSupportingTokens/wsp:Policy/"
        "sp:UsernameToken/wsp:Policy/sp:WssUsernameToken10",
        ".//sp:TransportBinding",
    ),
    (
        "wsp:ExactlyOne/wsp:All/sp2005:SignedSupportingTokens/wsp:Policy/"
        "sp2005:UsernameToken/wsp:Policy/sp2005:WssUsernameToken10",
        ".//sp2005:TransportBinding",
    ),
)
_WSU_ID = qname(NS["wsu"], "Id")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A WS-Trust endpoint: where to send the RST, and the SOAP action it expects."""

    address: str
    action: str | None

    @property
    def version(self) -> str | None:
        """``"1.3"``, ``"2005"``, or None for an action MSAL does not speak."""
        return {ACTION_13: "1.3", ACTION_2005: "2005"}.get(self.action or "")


def _username_password_policies(root: Element) -> set[str]:
    ids: set[str] = set()
    for policy in root.findall("wsp:Policy", NS):
        policy_id = policy.get(_WSU_ID)
        if not policy_id:
            continue
        for token_path, binding_path in _POLICY_PATHS:
            if (
                policy.find(token_path, NS) is not None
                and policy.find(binding_path, NS) is not None
            ):
                ids.add("#" + policy_id)
    return ids


def _bindings(root: Element) -> dict[str, tuple[str, str | None]]:
    """``{binding name: (policy URI, soapAction)}`` for SOAP 1.2 over HTTP bindings."""
    found: dict[str, tuple[str, str | None]] = {}
    for binding in root.findall("wsdl:binding", NS):
        soap = binding.find("soap12:binding", NS)
        name = binding.get("name")
        if soap is None or soap.get("transport") != SOAP_HTTP_TRANSPORT or not name:
            continue
        operation = binding.find("wsdl:operation/soap12:operation", NS)
        action = operation.get("soapAction") if operation is not None else None
        for reference in binding.findall("wsp:PolicyReference", NS):
            uri = reference.get("URI")
            if uri:
                found[name] = (uri, action)
    return found


def parse_mex(text: str) -> Endpoint | None:
    """The username/password endpoint of a MEX document, or None if it offers none.

    Raises:
        ProtocolError: the document is not well-formed XML or is refused
            (:func:`tokensmith._safexml.parse`).
    """
    root = parse(text, "the MEX document").root
    policies = _username_password_policies(root)
    bindings = _bindings(root)
    endpoints: list[Endpoint] = []
    for port in root.findall("wsdl:service/wsdl:port", NS):
        binding = bindings.get((port.get("binding") or "").split(":")[-1])
        if binding is None or binding[0] not in policies:
            continue
        address = port.find("wsa:EndpointReference/wsa:Address", NS)
        text_of = (address.text or "").strip() if address is not None else ""
        if text_of.lower().startswith("https://"):
            endpoints.append(Endpoint(text_of, binding[1]))
    preferred = [e for e in endpoints if e.action == ACTION_13]  # historically, MSAL's
    if preferred:
        return preferred[0]
    return endpoints[0] if endpoints else None


def discover_endpoint(url: str) -> Flow[Endpoint | None]:
    """GET the MEX document at ``url`` and return its username/password endpoint.

    Raises:
        MsalServiceError: the server answered with a status other than 2xx (MSAL
            raises for it too).
        ProtocolError: the document is malformed or refused.
    """
    response = yield from exchange(HttpRequest("GET", url))
    if not 200 <= response.status_code < 300:
        raise service_error("the federation server's MEX document", response.status_code, None)
    return parse_mex(response.text)
