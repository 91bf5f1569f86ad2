"""The WS-MetadataExchange document of the dev IdP's federation server, shaped like
AD FS's ``/adfs/services/trust/mex``.

It lists, as AD FS does, ``windowstransport`` endpoints (Negotiate: not usable with a
password) and ``usernamemixed`` endpoints for each configured WS-Trust version, the
2005 ones first. Each policy declares its WS-SecurityPolicy namespace under the same
``sp`` prefix, as AD FS writes them, so a client must read namespaces, not prefixes.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

__all__ = ["ACTION_13", "ACTION_2005", "mex_document"]

ACTION_13 = "http://docs.oasis-open.org/ws-sx/ws-trust/200512/RST/Issue"
ACTION_2005 = "http://schemas.xmlsoap.org/ws/2005/02/trust/RST/Issue"
_SP13 = "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702"
_SP2005 = "http://schemas.xmlsoap.org/ws/2005/07/securitypolicy"
_NEGOTIATE = "http://schemas.microsoft.com/ws/06/2004/policy/http"
_ACTIONS = {"13": ACTION_13, "2005": ACTION_2005}
_NAMES = {"13": "IWSTrust13Async", "2005": "IWSTrustFeb2005Async"}

_ROOT = (
    "<wsdl:definitions name='SecurityTokenService' targetNamespace='http://tempuri.org/' "
    "xmlns:wsdl='http://schemas.xmlsoap.org/wsdl/' xmlns:tns='http://tempuri.org/' "
    "xmlns:soap12='http://schemas.xmlsoap.org/wsdl/soap12/' "
    "xmlns:wsp='http://schemas.xmlsoap.org/ws/2004/09/policy' "
    "xmlns:wsu='http://docs.oasis-open.org/wss/2004/01/"
    "oasis-200401-wss-wssecurity-utility-1.0.xsd' "
    "xmlns:wsa10='http://www.w3.org/2005/08/addressing' "
    "xmlns:wsaw='http://www.w3.org/2006/05/addressing/wsdl'>"
)


def _transport(sp: str) -> str:
    return (
        f"<sp:TransportBinding xmlns:sp='{sp}'><wsp:Policy><sp:TransportToken><wsp:Policy>"
        "<sp:HttpsToken RequireClientCertificate='false'/></wsp:Policy></sp:TransportToken>"
        "<sp:AlgorithmSuite><wsp:Policy><sp:Basic256/></wsp:Policy></sp:AlgorithmSuite>"
        "<sp:Layout><wsp:Policy><sp:Strict/></wsp:Policy></sp:Layout><sp:IncludeTimestamp/>"
        "</wsp:Policy></sp:TransportBinding>"
    )


def _username_policy(version: str) -> str:
    sp = _SP13 if version == "13" else _SP2005
    wrapper = "SignedEncryptedSupportingTokens" if version == "13" else "SignedSupportingTokens"
    trust = "Trust13" if version == "13" else "Trust10"
    return (
        f"<wsp:Policy wsu:Id='UserNameWSTrustBinding_{_NAMES[version]}_policy'>"
        "<wsp:ExactlyOne><wsp:All>" + _transport(sp) + f"<sp:{wrapper} xmlns:sp='{sp}'><wsp:Policy>"
        f"<sp:UsernameToken sp:IncludeToken='{sp}/IncludeToken/AlwaysToRecipient'>"
        "<wsp:Policy><sp:WssUsernameToken10/></wsp:Policy></sp:UsernameToken>"
        f"</wsp:Policy></sp:{wrapper}>"
        f"<sp:Wss11 xmlns:sp='{sp}'><wsp:Policy/></sp:Wss11>"
        f"<sp:{trust} xmlns:sp='{sp}'><wsp:Policy/></sp:{trust}>"
        "<wsaw:UsingAddressing/></wsp:All></wsp:ExactlyOne></wsp:Policy>"
    )


def _windows_policy(version: str) -> str:
    return (
        f"<wsp:Policy wsu:Id='WindowsTransport_{_NAMES[version]}_policy'>"
        f"<wsp:ExactlyOne><wsp:All><http:NegotiateAuthentication xmlns:http='{_NEGOTIATE}'/>"
        + _transport(_SP2005)
        + "<wsaw:UsingAddressing/></wsp:All></wsp:ExactlyOne></wsp:Policy>"
    )


def _binding(name: str, version: str) -> str:
    operation = "Trust13IssueAsync" if version == "13" else "TrustFeb2005IssueAsync"
    return (
        f"<wsdl:binding name='{name}' type='tns:{_NAMES[version]}'>"
        f"<wsp:PolicyReference URI='#{name}_policy'/>"
        "<soap12:binding transport='http://schemas.xmlsoap.org/soap/http'/>"
        f"<wsdl:operation name='{operation}'>"
        f"<soap12:operation soapAction='{_ACTIONS[version]}' style='document'/>"
        "<wsdl:input><soap12:body use='literal'/></wsdl:input>"
        "<wsdl:output><soap12:body use='literal'/></wsdl:output>"
        "</wsdl:operation></wsdl:binding>"
    )


def _port(name: str, address: str) -> str:
    return (
        f"<wsdl:port name='{name}' binding='tns:{name}'>"
        f"<soap12:address location={quoteattr(address)}/>"
        f"<wsa10:EndpointReference><wsa10:Address>{address}</wsa10:Address>"
        "</wsa10:EndpointReference></wsdl:port>"
    )


def mex_document(trust_url: str, versions: tuple[str, ...]) -> str:
    """The MEX document for a federation server at ``trust_url`` (``.../adfs/services/
    trust``) whose ``usernamemixed`` endpoints speak ``versions`` (``"1.3"``, ``"2005"``).
    """
    paths = ["2005", "13"]  # AD FS lists the 2005 endpoints first
    offered = {"13" if v == "1.3" else "2005" for v in versions}
    policies, bindings, ports = [], [], []
    for path in paths:
        windows = f"WindowsTransport_{_NAMES[path]}"
        policies.append(_windows_policy(path))
        bindings.append(_binding(windows, path))
        ports.append(_port(windows, f"{trust_url}/{path}/windowstransport"))
        if path in offered:
            username = f"UserNameWSTrustBinding_{_NAMES[path]}"
            policies.append(_username_policy(path))
            bindings.append(_binding(username, path))
            ports.append(_port(username, f"{trust_url}/{path}/usernamemixed"))
    service = "<wsdl:service name='SecurityTokenService'>" + "".join(ports) + "</wsdl:service>"
    return _ROOT + "".join(policies) + "".join(bindings) + service + "</wsdl:definitions>"
