"""The person in front of the browser, without a browser.

Drives node-oidc-provider's own pages (device code entry and confirmation, the dev
login and consent forms) over plain HTTP: GET a page, parse its forms, fill them in,
POST them, follow redirects, as a person with a browser would. Cookies are kept by one
``httpx.Client`` per person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx

_MAX_STEPS = 16


class PersonError(AssertionError):
    """The provider's pages did not lead where a person would expect."""


@dataclass
class HtmlForm:
    """A form of a page: where it posts and the values it would submit."""

    form_id: str | None
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthorizationResponse:
    """What the provider sent back to the client's redirect URI.

    Attributes:
        url: the redirect URI the browser was sent to (with the query for query mode;
            the form action for ``form_post``).
        method: ``"GET"`` for a redirect, ``"POST"`` for ``response_mode=form_post``.
        params: the authorization response parameters (code, state, error, ...).
    """

    url: str
    method: str
    params: dict[str, str]


class _FormParser(HTMLParser):
    """Collects forms and their inputs, including inputs tied by a ``form`` attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[HtmlForm] = []
        self._by_id: dict[str, HtmlForm] = {}
        self._current: HtmlForm | None = None
        self._orphans: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            form = HtmlForm(
                form_id=values.get("id"),
                action=values.get("action", ""),
                method=values.get("method", "get").upper(),
            )
            self.forms.append(form)
            self._current = form
            if form.form_id:
                self._by_id[form.form_id] = form
        elif tag == "input" and "name" in values:
            owner = values.get("form")
            if owner:
                self._orphans.append((owner, values["name"], values.get("value", "")))
            elif self._current is not None:
                self._current.fields[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None

    def result(self) -> list[HtmlForm]:
        for owner, name, value in self._orphans:
            if owner in self._by_id:
                self._by_id[owner].fields[name] = value
        return self.forms


def parse_forms(html: str) -> list[HtmlForm]:
    """Return the forms of ``html`` with the values their inputs carry."""
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser.result()


def _page_summary(response: httpx.Response) -> str:
    text = re.sub(r"<style.*?</style>", "", response.text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    return f"HTTP {response.status_code} at {response.url}: " + " ".join(text.split())[:300]


@dataclass
class Person:
    """A person with a cookie-keeping HTTP client and the test account's credentials.

    Args:
        client: an ``httpx.Client`` that trusts the provider's CA (redirects not followed).
        issuer: the provider's issuer URL; redirects elsewhere end the journey.
        login: the account name typed into the login form.
        password: the password typed into the login form.
    """

    client: httpx.Client
    issuer: str
    login: str
    password: str

    def _is_provider(self, url: str) -> bool:
        here, provider = urlsplit(url), urlsplit(self.issuer)
        return (here.scheme, here.netloc) == (provider.scheme, provider.netloc)

    def _fill(self, form: HtmlForm, user_code: str | None) -> dict[str, str]:
        values = dict(form.fields)
        if values.get("prompt") == "login":
            values["login"], values["password"] = self.login, self.password
        if "user_code" in values and not values["user_code"]:
            if user_code is None:
                raise PersonError("the provider asks for a user code but none was given")
            values["user_code"] = user_code
        return values

    def journey(self, url: str, user_code: str | None = None) -> AuthorizationResponse | None:
        """Open ``url`` and do what a person does until the provider lets go.

        Args:
            url: the first page (an authorization URL or a device verification URI).
            user_code: the device flow's user code, typed in when a page asks for it.

        Returns:
            The authorization response when the provider sends the browser back to a
            client (redirect or form_post), or None when the journey ends on one of
            the provider's own pages without a form (the device flow's success page).

        Raises:
            PersonError: an error page, a rejected login, or too many steps.
        """
        response = self.client.get(url)
        for _ in range(_MAX_STEPS):
            if response.is_redirect:
                target = urljoin(str(response.url), response.headers["location"])
                if not self._is_provider(target):
                    params = dict(parse_qsl(urlsplit(target).query or urlsplit(target).fragment))
                    return AuthorizationResponse(target, "GET", params)
                response = self.client.get(target)
                continue
            if response.status_code >= 400:
                raise PersonError(_page_summary(response))
            forms = parse_forms(response.text)
            if not forms:
                if "success" in response.text.lower():
                    return None
                raise PersonError(_page_summary(response))
            form = forms[0]
            action = urljoin(str(response.url), form.action)
            if not self._is_provider(action):
                return AuthorizationResponse(action, form.method, dict(form.fields))
            values = self._fill(form, user_code)
            if form.method == "POST":
                response = self.client.post(action, data=values)
            else:
                response = self.client.get(action, params=values)
        raise PersonError(f"no end after {_MAX_STEPS} steps; last: {_page_summary(response)}")
