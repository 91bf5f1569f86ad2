"""A scripted person for the dev IdP's pages: opens the authorization URL, signs in,
approves the simulated MFA prompt and the consent page, and returns what the IdP sends
back to the app's redirect URI (query, fragment or form_post). No browser needed."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
from tests.interop._person import PersonError, parse_forms

_STEPS = {"login": "login", "mfa": "mfa", "consent": "consent", "device": "login"}


@dataclass(frozen=True)
class AuthorizationResponse:
    """What the IdP sent to the redirect URI, and the pages the person went through."""

    url: str
    method: str
    params: dict[str, str]
    steps: list[str] = field(default_factory=list)


def http_client(ca_path: Path) -> httpx.Client:
    """An HTTP client that trusts the dev IdP's CA and does not follow redirects."""
    return httpx.Client(verify=ssl.create_default_context(cafile=str(ca_path)))


def sign_in(
    client: httpx.Client,
    url: str,
    username: str,
    password: str,
    *,
    decline_consent: bool = False,
) -> AuthorizationResponse:
    """Walk the pages from ``url`` until the IdP sends the browser back to the app."""
    base = urlsplit(url)
    steps: list[str] = []
    response = client.get(url)
    for _ in range(8):
        if response.is_redirect:
            target = urljoin(str(response.url), response.headers["location"])
            parts = urlsplit(target)
            params = dict(parse_qsl(parts.query or parts.fragment))
            return AuthorizationResponse(target, "GET", params, steps)
        forms = parse_forms(response.text)
        if response.status_code >= 400 or not forms:
            raise PersonError(f"HTTP {response.status_code}: {response.text[:300]}")
        form = forms[0]
        action = urljoin(str(response.url), form.action)
        if urlsplit(action).netloc != base.netloc:
            return AuthorizationResponse(action, "POST", dict(form.fields), steps)
        values = dict(form.fields)
        step = _STEPS.get(form.form_id or "", "")
        if step == "login":
            values.update(login=username, passwd=password)
        if step == "consent" and decline_consent:
            step = "decline"
        values["step"] = step
        steps.append(step)
        response = client.post(action, data=values)
    raise PersonError("the sign-in did not end")


def enter_device_code(
    client: httpx.Client, verification_uri: str, user_code: str, username: str, password: str
) -> str:
    """Enter the code and sign in on the device page; return the page's text."""
    page = client.get(verification_uri)
    form = parse_forms(page.text)[0]
    values = {**form.fields, "otc": user_code, "login": username, "passwd": password}
    done = client.post(urljoin(verification_uri, form.action), data={**values, "step": "login"})
    return done.text
