"""Federated username/password through the dev IdP, which plays both Entra and the
domains' AD FS: MSAL Python 1.39 (the oracle), tokensmith and tokensmith.aio sign in
over WS-Trust 1.3 and 2005 with SAML 1.1 and 2.0 assertions, fail alike on a wrong
password, and send the same requests where it matters."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import msal
import pytest
from tests.devidp._federation import (
    ELLA,
    EXPECTED,
    HEDY,
    MAE,
    PASSWORD,
    ROSALIND,
    WRONG_PASSWORD_ERROR,
    RecordingClient,
    Sent,
    federated_config,
)
from tests.devidp.conftest import CONTOSO, DESKTOP, Library

import tokensmith
from tokensmith._safexml import parse
from tokensmith.authority.memo import mex_memo
from tokensmith.devidp import DevIdP

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
WSA = "http://www.w3.org/2005/08/addressing"
S = "http://www.w3.org/2003/05/soap-envelope"
TRUST = (
    "http://docs.oasis-open.org/ws-sx/ws-trust/200512",
    "http://schemas.xmlsoap.org/ws/2005/02/trust",
)


@pytest.fixture(scope="module")
def fed_idp() -> Iterator[DevIdP]:
    with DevIdP(federated_config()) as server:
        yield server


def _recorder(idp: DevIdP) -> RecordingClient:
    return RecordingClient(urlsplit(idp.base_url).netloc, idp.ca_path)


@pytest.fixture(params=["msal", "tokensmith", "tokensmith.aio"])
def fed_lib(request: pytest.FixtureRequest, fed_idp: DevIdP) -> Iterator[Library]:
    library = Library(request.param, fed_idp)
    yield library
    library.close()


def _app(lib: Library, client: RecordingClient | None = None, tenant: str = CONTOSO) -> Any:
    """MSAL always gets the recording client (user realm discovery needs the port
    rewrite); tokensmith only when asked, else its own httpx transport."""
    if lib.name == "msal" and client is None:
        client = _recorder(lib.idp)
    extra = {"http_client": client} if client is not None else {}
    return lib.public(DESKTOP, tenant=tenant, **extra)


def _ok(result: dict[str, Any]) -> dict[str, Any]:
    assert "error" not in result, result.get("error_description")
    assert result["access_token"] and result["token_source"] == "identity_provider"
    return result


@pytest.mark.parametrize("username", [HEDY, ELLA, MAE, ROSALIND])
def test_federated_sign_in(fed_lib: Library, username: str) -> None:
    app = _app(fed_lib)
    result = _ok(app.acquire_token_by_username_password(username, PASSWORD, ["User.Read"]))
    assert result["id_token_claims"]["preferred_username"] == username
    [account] = app.get_accounts()
    assert account["username"] == username and account["realm"] == CONTOSO
    cached = app.acquire_token_silent(["User.Read"], account)
    assert cached["token_source"] == "cache"


def test_organizations_authority_works_too(fed_lib: Library) -> None:
    app = _app(fed_lib, tenant="organizations")
    _ok(app.acquire_token_by_username_password(HEDY, PASSWORD, ["User.Read"]))


def test_wrong_password_is_msals_runtime_error(fed_lib: Library) -> None:
    app = _app(fed_lib)
    with pytest.raises(RuntimeError) as raised:
        app.acquire_token_by_username_password(HEDY, "wrong", ["User.Read"])
    assert str(raised.value) == WRONG_PASSWORD_ERROR
    assert app.get_accounts() == []


def test_an_unknown_user_of_the_domain_is_the_same_fault(fed_lib: Library) -> None:
    app = _app(fed_lib)
    with pytest.raises(RuntimeError, match="a:FailedAuthentication"):
        app.acquire_token_by_username_password("nobody@corp.contoso.example", PASSWORD, [])


def _federated(sent: list[Sent]) -> list[tuple[str, str]]:
    """The federation part of a sign-in: (method, path) after user realm discovery."""
    return [
        (s.method, s.path) for s in sent if "/federation/" in s.path or s.path.endswith("/token")
    ]


def _rst(sent: Sent) -> dict[str, Any]:
    assert isinstance(sent.data, str)  # both pass the envelope as data=, a str
    root = parse(sent.data, "rst").root
    body = root.find(f"{{{S}}}Body")
    assert body is not None and len(body) == 1
    rst = body[0]
    assert rst.tag in {f"{{{ns}}}RequestSecurityToken" for ns in TRUST}
    created = root.findtext(f".//{{{WSU}}}Created") or ""
    expires = root.findtext(f".//{{{WSU}}}Expires") or ""
    return {
        "headers": {
            k.lower(): v
            for k, v in sent.headers.items()
            if k.lower() in ("content-type", "soapaction")
        },
        "action": root.findtext(f"{{{S}}}Header/{{{WSA}}}Action"),
        "to": root.findtext(f"{{{S}}}Header/{{{WSA}}}To"),
        "message_id": (root.findtext(f"{{{S}}}Header/{{{WSA}}}MessageID") or "")[:9],
        "username": root.findtext(f".//{{{WSSE}}}Username"),
        "password": root.findtext(f".//{{{WSSE}}}Password"),
        "rst": rst.tag,
        "fields": sorted(
            (child.tag, (child.text or "").strip())
            for child in rst
            if child.text and child.text.strip()
        ),
        "applies_to": rst.findtext(f".//{{{WSA}}}Address"),
        "timestamp": (len(created), len(expires), created < expires),
    }


def _grant(sent: Sent) -> dict[str, Any]:
    form = {  # as the form goes on the wire: bytes decoded, numbers as text, None left out
        k: v.decode() if isinstance(v, bytes) else str(v)
        for k, v in sent.data.items()
        if v is not None
    }
    encoded = form.pop("assertion")
    assertion = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
    root = parse(assertion, "assertion").root
    return {
        "padding": "=" in encoded,
        "assertion_root": root.tag,
        "scope": set(form.pop("scope").split()),
        "form": form,
    }


@pytest.mark.parametrize("username", [HEDY, ELLA, MAE, ROSALIND])
def test_the_requests_match_msals(fed_idp: DevIdP, username: str) -> None:
    seen: dict[str, RecordingClient] = {}
    for name in ("msal", "tokensmith"):
        mex_memo.clear()  # MEX answers are remembered per process (MSAL: per http_cache)
        library = Library(name, fed_idp)
        client = _recorder(fed_idp)
        app = _app(library, client)
        _ok(app.acquire_token_by_username_password(username, PASSWORD, ["User.Read"]))
        library.close()
        seen[name] = client
    msal_sent, ours = seen["msal"].sent, seen["tokensmith"].sent
    assert _federated(ours) == _federated(msal_sent)
    path, grant_type = EXPECTED[username]
    [msal_rst], [our_rst] = seen["msal"].posts(path), seen["tokensmith"].posts(path)
    assert _rst(our_rst) == _rst(msal_rst)
    assert _rst(our_rst)["password"] == PASSWORD
    [msal_token], [our_token] = seen["msal"].posts("/token"), seen["tokensmith"].posts("/token")
    assert _grant(our_token) == _grant(msal_token)
    assert _grant(our_token)["form"]["grant_type"] == grant_type
    assert "X-AnchorMailbox" not in our_token.headers  # MSAL sends none with this grant


def test_a_domain_without_mex_uses_the_active_auth_url(fed_lib: Library) -> None:
    client = _recorder(fed_lib.idp)
    app = _app(fed_lib, client) if fed_lib.name != "tokensmith.aio" else _app(fed_lib)
    _ok(app.acquire_token_by_username_password(ROSALIND, PASSWORD, ["User.Read"]))
    if fed_lib.name != "tokensmith.aio":
        assert not [s for s in client.sent if s.path.endswith("/mex")]
        assert len(client.posts("/trust/2005/usernamemixed")) == 1


def test_a_wrong_password_is_sent_once_and_not_replayed(fed_idp: DevIdP) -> None:
    """tokensmith differs from MSAL on purpose: MSAL's throttle remembers AD FS's HTTP 500
    for 60 s by URL alone, so the right password typed next is answered from memory
    with the same fault; tokensmith sends each attempt once and remembers none."""
    outcomes: dict[str, tuple[int, int, str]] = {}
    for name in ("msal", "tokensmith"):
        library = Library(name, fed_idp)
        client = _recorder(fed_idp)
        app = _app(library, client)
        with pytest.raises(RuntimeError):
            app.acquire_token_by_username_password(HEDY, "wrong", ["User.Read"])
        first = len(client.posts("/usernamemixed"))
        try:
            second = (
                "ok"
                if "access_token"
                in app.acquire_token_by_username_password(HEDY, PASSWORD, ["User.Read"])
                else "error"
            )
        except RuntimeError:
            second = "fault"
        outcomes[name] = (first, len(client.posts("/usernamemixed")), second)
        library.close()
    assert outcomes["tokensmith"] == (1, 2, "ok")
    assert outcomes["msal"] == (1, 1, "fault")  # the oracle's replay, documented


def test_the_cache_matches_msals(fed_idp: DevIdP) -> None:
    caches: dict[str, dict[str, Any]] = {}
    accounts: dict[str, Any] = {}
    for name in ("msal", "tokensmith"):
        library = Library(name, fed_idp)
        cache = (msal if name == "msal" else tokensmith).SerializableTokenCache()
        app = library.public(
            DESKTOP, tenant=CONTOSO, http_client=_recorder(fed_idp), token_cache=cache
        )
        _ok(app.acquire_token_by_username_password(HEDY, PASSWORD, ["User.Read"]))
        accounts[name] = [dict(a) for a in app.get_accounts()]
        caches[name] = json.loads(cache.serialize())
        library.close()
    assert accounts["tokensmith"] == accounts["msal"]
    for section in ("AccessToken", "RefreshToken", "IdToken", "Account"):
        ours, theirs = caches["tokensmith"][section], caches["msal"][section]
        assert sorted(ours) == sorted(theirs), section
        for key in ours:
            assert sorted(ours[key]) == sorted(theirs[key]), (section, key)
