"""WS-Trust for federated username/password sign-in (what MSAL Python does when user
realm discovery says ``account_type: Federated``).

1. :mod:`.mex`: fetch the federation server's WS-MetadataExchange document and pick
   its username/password endpoint (WS-Trust 1.3 preferred over 2005).
2. :mod:`.request`: send it a RequestSecurityToken with a WS-Security UsernameToken.
3. :mod:`.response`: read the RequestSecurityTokenResponse: a SAML 1.1 or 2.0
   assertion (kept byte for byte) or a SOAP fault.
4. :mod:`tokensmith.protocol.saml_bearer`: redeem the assertion at the token endpoint
   (RFC 7522 and its SAML 1.1 twin).

Specifications: WS-Trust 1.3 (OASIS, docs.oasis-open.org/ws-sx/ws-trust/200512),
WS-Trust February 2005, WS-MetadataExchange, WS-SecurityPolicy 1.2, WSS UsernameToken
Profile 1.0. XML is read by :mod:`tokensmith._safexml` only. No I/O here: the flows
yield :class:`~tokensmith.protocol.http.HttpRequest` effects.
"""
