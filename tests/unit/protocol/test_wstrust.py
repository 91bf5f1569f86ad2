"""WS-Trust's parsers and builders, without I/O: the MEX endpoint choice (as MSAL's
``mex.py``), the RST envelopes, the RSTR token kept byte for byte, faults, and hostile
documents refused with a clear ProtocolError (never an entity expanded, never a
traceback from inside the XML library)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msal.mex import Mex
from msal.wstrust_response import parse_response
from tests.unit.protocol import wstrust_samples as samples

from tokensmith._safexml import parse
from tokensmith.errors import ProtocolError
from tokensmith.protocol import saml_bearer
from tokensmith.protocol.wstrust.mex import Endpoint, parse_mex
from tokensmith.protocol.wstrust.request import action_for, rst_envelope, rst_request
from tokensmith.protocol.wstrust.response import Fault, SamlToken, parse_rstr

NS_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"


def _msal_choice(document: str) -> Endpoint | None:
    found = Mex(document).get_wstrust_username_password_endpoint()
    return None if found is None else Endpoint(found["address"], found["action"])


def test_adfs_mex_prefers_ws_trust_13_usernamemixed_as_msal_does() -> None:
    document = samples.adfs_mex()
    chosen = parse_mex(document)
    assert chosen == Endpoint(f"{samples.STS}/13/usernamemixed", samples.ACTION_13)
    assert chosen.version == "1.3"
    assert chosen == _msal_choice(document)


def test_a_2005_only_mex_gives_the_2005_usernamemixed_endpoint() -> None:
    document = samples.mex(
        samples.windows_policy(),
        samples.username_policy_2005(),
        samples.binding("W2005", "W2005", samples.ACTION_2005),
        samples.binding("U2005", "U2005", samples.ACTION_2005),
        ports=(
            samples.port("W2005", f"{samples.STS}/2005/windowstransport"),
            samples.port("U2005", f"{samples.STS}/2005/usernamemixed"),
        ),
    )
    chosen = parse_mex(document)
    assert chosen == Endpoint(f"{samples.STS}/2005/usernamemixed", samples.ACTION_2005)
    assert chosen == _msal_choice(document)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(  # only Windows integrated auth (Negotiate)
            samples.mex(
                samples.windows_policy(),
                samples.binding("W2005", "W2005", samples.ACTION_2005),
                ports=(samples.port("W2005", f"{samples.STS}/2005/windowstransport"),),
            ),
            id="windowstransport only",
        ),
        pytest.param(  # a username endpoint, but not over https
            samples.mex(
                samples.username_policy_13(),
                samples.binding("U13", "U13", samples.ACTION_13),
                ports=(samples.port("U13", "http://sts.fabrikam.example/13/usernamemixed"),),
            ),
            id="plain http",
        ),
        pytest.param(  # a binding that is not SOAP over HTTP
            samples.mex(
                samples.username_policy_13(),
                samples.binding("U13", "U13", samples.ACTION_13, transport="urn:other"),
                ports=(samples.port("U13", f"{samples.STS}/13/usernamemixed"),),
            ),
            id="not soap over http",
        ),
        pytest.param(samples.mex(), id="empty definitions"),
        pytest.param("<unrelated xmlns='urn:x'><a/></unrelated>", id="not a WSDL"),
    ],
)
def test_no_usable_endpoint_is_none_as_msal_finds_none(document: str) -> None:
    assert parse_mex(document) is None
    assert _msal_choice(document) is None


def test_policies_are_matched_by_namespace_not_by_prefix() -> None:
    document = samples.mex(
        samples.username_policy_13(prefix="zz"),
        samples.binding("U13", "U13", samples.ACTION_13),
        ports=(samples.port("U13", f"{samples.STS}/13/usernamemixed"),),
    )
    assert parse_mex(document) == Endpoint(f"{samples.STS}/13/usernamemixed", samples.ACTION_13)


@pytest.mark.parametrize("name", sorted(samples.HOSTILE))
def test_hostile_documents_are_refused_clearly(name: str) -> None:
    for reader, what in ((parse_mex, "the MEX document"), (parse_rstr, "the WS-Trust response")):
        with pytest.raises(ProtocolError) as raised:
            reader(samples.HOSTILE[name])
        message = str(raised.value)
        assert message.startswith(what)
        assert "lol" not in message and "passwd" not in message and "xxxx" not in message


def test_a_doctype_is_refused_before_any_entity_is_declared() -> None:
    with pytest.raises(ProtocolError, match="declares a DOCTYPE"):
        parse(samples.BILLION_LAUGHS, "doc")
    with pytest.raises(ProtocolError, match="declares a DOCTYPE"):
        parse(samples.EXTERNAL_DTD, "doc")


def test_rstr_13_keeps_the_assertion_byte_for_byte_as_msal_does() -> None:
    body = samples.rstr_13()
    token = parse_rstr(body)
    assert token == SamlToken(samples.ASSERTION.encode("utf-8"), samples.SAML1)
    assert token.assertion == parse_response(body)["token"]  # MSAL's regex reading
    assert "kept   as is" in token.assertion.decode()  # no re-serialisation
    assert "AttributeValue" not in repr(token) and "_a1" not in repr(token)


def test_rstr_2005_with_saml2() -> None:
    token = parse_rstr(samples.rstr_2005())
    assert isinstance(token, SamlToken) and token.token_type == samples.SAML2
    assert token.assertion == samples.ASSERTION.encode()


def test_a_fault_is_read_into_msals_dict() -> None:
    fault = parse_rstr(samples.FAULT)
    assert fault == Fault(
        "a:FailedAuthentication",
        "ID3242: The security token could not be authenticated or authorized.",
    )
    assert isinstance(fault, Fault)
    assert fault.as_dict() == {"reason": fault.reason, "code": fault.code}
    with pytest.raises(RuntimeError) as msal_raised:  # MSAL's message carries the same dict
        parse_response(samples.FAULT)
    assert repr(fault.as_dict()) in str(msal_raised.value)


@pytest.mark.parametrize(
    "body",
    [
        samples.rstr_13(assertion=""),  # an empty token
        samples.rstr_13(assertion="just text"),  # no element inside
        samples.rstr_13(token_type=""),
        "<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope'><s:Body/></s:Envelope>",
    ],
)
def test_no_token_and_no_fault_is_none(body: str) -> None:
    assert parse_rstr(body) is None


@pytest.mark.parametrize(
    ("token_type", "grant"),
    [
        (samples.SAML1, saml_bearer.GRANT_TYPE_SAML1_1),
        (samples.SAML2, saml_bearer.GRANT_TYPE_SAML2),
        (
            "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV1.1",
            saml_bearer.GRANT_TYPE_SAML1_1,
        ),
        (
            "http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0",
            saml_bearer.GRANT_TYPE_SAML2,
        ),
        ("urn:ietf:params:oauth:token-type:jwt", None),
    ],
)
def test_grant_type_by_token_type(token_type: str, grant: str | None) -> None:
    assert saml_bearer.grant_type_for(token_type) == grant


def test_saml_form_sends_base64url_without_padding() -> None:
    form = saml_bearer.saml_bearer_form(
        client_id="cid",
        grant_type=saml_bearer.GRANT_TYPE_SAML2,
        assertion=b"<a>?>>?</a>",  # bytes whose base64 has + / =
        scopes=["User.Read", "openid"],
    )
    assert form["assertion"] == "PGE-Pz4-PzwvYT4"
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:saml2-bearer"
    assert form["client_info"] == "1" and form["scope"] == "User.Read openid"


@pytest.mark.parametrize(
    ("action", "wst", "key_type"),
    [
        (samples.ACTION_13, "http://docs.oasis-open.org/ws-sx/ws-trust/200512", "/Bearer"),
        (samples.ACTION_2005, "http://schemas.xmlsoap.org/ws/2005/02/trust", "/NoProofKey"),
    ],
)
def test_rst_envelope_escapes_and_carries_the_usernametoken(
    action: str, wst: str, key_type: str
) -> None:
    envelope = rst_envelope(
        username="o'neil&<co>@fabrikam.example",
        password='p<a>"ss&',
        audience="urn:federation:MicrosoftOnline",
        address=f"{samples.STS}/13/usernamemixed",
        action=action,
        now=1_700_000_000,
        message_id="urn:uuid:1",
    )
    root = parse(envelope, "rst").root
    token = root.find(f".//{{{NS_WSSE}}}UsernameToken")
    assert token is not None
    assert token.findtext(f"{{{NS_WSSE}}}Username") == "o'neil&<co>@fabrikam.example"
    assert token.findtext(f"{{{NS_WSSE}}}Password") == 'p<a>"ss&'
    rst = root.find(f".//{{{wst}}}RequestSecurityToken")
    assert rst is not None and (rst.findtext(f"{{{wst}}}KeyType") or "").endswith(key_type)
    assert "<wsu:Created>2023-11-14T22:13:20Z</wsu:Created>" in envelope
    assert "<wsu:Expires>2023-11-14T22:23:20Z</wsu:Expires>" in envelope


def test_rst_request_is_sent_once_with_soap_headers() -> None:
    request = rst_request(
        username="u",
        password="secret-pw",
        audience="urn:federation:MicrosoftOnline",
        address=f"{samples.STS}/13/usernamemixed",
        action=samples.ACTION_13,
        now=0,
    )
    assert request.retry_on_status is False and request.data is None
    assert request.headers["SOAPAction"] == samples.ACTION_13
    assert request.headers["Content-Type"] == "application/soap+xml; charset=utf-8"
    assert "secret-pw" not in repr(request)


def test_action_for_guesses_from_adfs_paths_and_refuses_others() -> None:
    assert action_for(f"{samples.STS}/2005/usernamemixed", None) == samples.ACTION_2005
    assert action_for(f"{samples.STS}/13/usernamemixed", None) == samples.ACTION_13
    with pytest.raises(ValueError, match="Unsupported soap action"):
        action_for(f"{samples.STS}/other", None)
    with pytest.raises(ValueError, match="can not be empty"):
        action_for("", samples.ACTION_13)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_text_parses_or_is_a_protocol_error(text: str) -> None:
    for reader in (parse_mex, parse_rstr):
        with contextlib.suppress(ProtocolError):
            reader(text)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_any_text_inside_a_valid_envelope_is_kept_or_refused(inner: str) -> None:
    with contextlib.suppress(ProtocolError):
        parse_rstr(samples.rstr_13(assertion=inner))
