"""The namespaces, SOAP actions and token types of WS-Trust as MSAL Python uses them."""

from __future__ import annotations

__all__ = [
    "ACTION_13",
    "ACTION_2005",
    "NS",
    "SAML_1_1_TOKEN_TYPES",
    "SAML_2_TOKEN_TYPES",
    "qname",
]

NS = {
    "wsdl": "http://schemas.xmlsoap.org/wsdl/",
    "soap12": "http://schemas.xmlsoap.org/wsdl/soap12/",
    "wsp": "http://schemas.xmlsoap.org/ws/2004/09/policy",
    "sp": "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702",
    "sp2005": "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy",
    "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsa": "http://www.w3.org/2005/08/addressing",
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wst": "http://docs.oasis-open.org/ws-sx/ws-trust/200512",
    "wst2005": "http://schemas.xmlsoap.org/ws/2005/02/trust",
}
"""Prefixes for ``Element.find``; the documents may use any prefixes they like."""

SOAP_HTTP_TRANSPORT = "http://schemas.xmlsoap.org/soap/http"
ACTION_13 = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue"
ACTION_2005 = "http://schemas.xmlsoap.org/ws/2005/02/trust/RST/Issue"

SAML_1_1_TOKEN_TYPES = frozenset(
    {
        "urn:oasis:names:tc:SAML:1.0:assertion",
        "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1",
    }
)
SAML_2_TOKEN_TYPES = frozenset(
    {
        "urn:oasis:names:tc:SAML:2.0:assertion",
        "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0",
    }
)


def qname(namespace: str, local: str) -> str:
    """ElementTree's name of ``local`` in ``namespace``: ``{namespace}local``."""
    return "{" + namespace + "}" + local
