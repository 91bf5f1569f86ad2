"""WS-Trust documents as data: an AD FS-like MEX document (trimmed), RSTRs and faults,
and hostile variants of them."""

from __future__ import annotations

SP13 = "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702"
SP2005 = "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy"
ACTION_13 = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue"
ACTION_2005 = "http://schemas.xmlsoap.org/ws/2005/02/trust/RST/Issue"
STS = "https://sts.fabrikam.example/adfs/services/trust"


def _policy(policy_id: str, body: str) -> str:
    return (
        f"<wsp:Policy wsu:Id='{policy_id}'><wsp:ExactlyOne><wsp:All>{body}"
        "</wsp:All></wsp:ExactlyOne></wsp:Policy>"
    )


def _transport(ns: str, prefix: str = "sp") -> str:
    return (
        f"<{prefix}:TransportBinding xmlns:{prefix}='{ns}'>"
        f"<wsp:Policy/></{prefix}:TransportBinding>"
    )


def username_policy_13(policy_id: str = "U13", prefix: str = "sp") -> str:
    p = prefix
    return _policy(
        policy_id,
        _transport(SP13, p) + f"<{p}:SignedEncryptedSupportingTokens xmlns:{p}='{SP13}'>"
        f"<wsp:Policy><{p}:UsernameToken><wsp:Policy><{p}:WssUsernameToken10/></wsp:Policy>"
        f"</{p}:UsernameToken></wsp:Policy></{p}:SignedEncryptedSupportingTokens>",
    )


def username_policy_2005(policy_id: str = "U2005") -> str:
    return _policy(
        policy_id,
        _transport(SP2005) + f"<sp:SignedSupportingTokens xmlns:sp='{SP2005}'>"
        "<wsp:Policy><sp:UsernameToken><wsp:Policy><sp:WssUsernameToken10/></wsp:Policy>"
        "</sp:UsernameToken></wsp:Policy></sp:SignedSupportingTokens>",
    )


def windows_policy(policy_id: str = "W2005") -> str:
    return _policy(
        policy_id,
        "<http:NegotiateAuthentication "
        "xmlns:http='http://schemas.microsoft.com/ws/06/2004/policy/http'/>" + _transport(SP2005),
    )


def binding(name: str, policy_id: str, action: str, transport: str | None = None) -> str:
    transport = transport or "http://schemas.xmlsoap.org/soap/http"
    return (
        f"<wsdl:binding name='{name}'><wsp:PolicyReference URI='#{policy_id}'/>"
        f"<soap12:binding transport='{transport}'/><wsdl:operation name='Issue'>"
        f"<soap12:operation soapAction='{action}'/></wsdl:operation></wsdl:binding>"
    )


def port(name: str, address: str) -> str:
    return (
        f"<wsdl:port name='{name}' binding='tns:{name}'><wsa10:EndpointReference>"
        f"<wsa10:Address>{address}</wsa10:Address></wsa10:EndpointReference></wsdl:port>"
    )


def mex(*parts: str, ports: tuple[str, ...] = ()) -> str:
    return (
        "<wsdl:definitions xmlns:wsdl='http://schemas.xmlsoap.org/wsdl/' "
        "xmlns:tns='http://tempuri.org/' xmlns:soap12='http://schemas.xmlsoap.org/wsdl/soap12/' "
        "xmlns:wsp='http://schemas.xmlsoap.org/ws/2004/09/policy' "
        "xmlns:wsu='http://docs.oasis-open.org/wss/2004/01/"
        "oasis-200401-wss-wssecurity-utility-1.0.xsd' "
        "xmlns:wsa10='http://www.w3.org/2005/08/addressing'>"
        + "".join(parts)
        + "<wsdl:service name='SecurityTokenService'>"
        + "".join(ports)
        + "</wsdl:service></wsdl:definitions>"
    )


def adfs_mex() -> str:
    """2005 endpoints first, as AD FS lists them; windowstransport beside usernamemixed."""
    return mex(
        windows_policy(),
        username_policy_2005(),
        username_policy_13(),
        binding("W2005", "W2005", ACTION_2005),
        binding("U2005", "U2005", ACTION_2005),
        binding("U13", "U13", ACTION_13),
        ports=(
            port("W2005", f"{STS}/2005/windowstransport"),
            port("U2005", f"{STS}/2005/usernamemixed"),
            port("U13", f"{STS}/13/usernamemixed"),
        ),
    )


SAML1 = "urn:oasis:names:tc:SAML:1.0:assertion"
SAML2 = "urn:oasis:names:tc:SAML:2.0:assertion"
ASSERTION = (
    "\n   <saml:Assertion xmlns:saml='urn:oasis:names:tc:SAML:1.0:assertion' "
    'AssertionID="_a1" MajorVersion="1"><saml:AttributeStatement>'
    "<saml:Attribute AttributeName='UPN'><saml:AttributeValue>ada@fabrikam.example &amp; co"
    "</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>"
    "<ds:Signature xmlns:ds='http://www.w3.org/2000/09/xmldsig#'>  kept   as is  </ds:Signature>"
    "</saml:Assertion>\n  "
)


def rstr_13(token_type: str = SAML1, assertion: str = ASSERTION) -> str:
    return (
        "<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body>"
        "<trust:RequestSecurityTokenResponseCollection "
        "xmlns:trust='http://docs.oasis-open.org/ws-sx/ws-trust/200512'>"
        "<trust:RequestSecurityTokenResponse>"
        f"<trust:RequestedSecurityToken>{assertion}</trust:RequestedSecurityToken>"
        f"<trust:TokenType>{token_type}</trust:TokenType>"
        "</trust:RequestSecurityTokenResponse></trust:RequestSecurityTokenResponseCollection>"
        "</s:Body></s:Envelope>"
    )


def rstr_2005(token_type: str = SAML2, assertion: str = ASSERTION) -> str:
    return (
        "<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'>"
        "<s:Body xmlns:t='http://schemas.xmlsoap.org/ws/2005/02/trust'>"
        f"<t:RequestSecurityTokenResponse><t:TokenType>{token_type}</t:TokenType>"
        f"<t:RequestedSecurityToken>{assertion}</t:RequestedSecurityToken>"
        "</t:RequestSecurityTokenResponse></s:Body></s:Envelope>"
    )


FAULT = (
    "<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope' "
    "xmlns:a='http://www.w3.org/2005/08/addressing'><s:Body><s:Fault>"
    "<s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value "
    "xmlns:a='http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd'>"
    "a:FailedAuthentication</s:Value></s:Subcode></s:Code><s:Reason>"
    "<s:Text xml:lang='en-US'>ID3242: The security token could not be authenticated or "
    "authorized.</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>"
)

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<wsdl:definitions xmlns:wsdl='http://schemas.xmlsoap.org/wsdl/'>&lol3;</wsdl:definitions>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
)
EXTERNAL_DTD = '<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd"><r/>'
PARAMETER_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p">%p;]><r/>'
)
DEEP = "<a>" * 500 + "</a>" * 500
HOSTILE = {
    "billion laughs": BILLION_LAUGHS,
    "external entity": EXTERNAL_ENTITY,
    "external DTD": EXTERNAL_DTD,
    "parameter entity": PARAMETER_ENTITY,
    "deep nesting": DEEP,
    "not XML": "<html><body>Service Unavailable",
    "empty": "",
    "huge": "<a>" + "x" * 2_100_000 + "</a>",
    "two roots": "<a/><b/>",
    "undefined entity": "<a>&nope;</a>",
}
