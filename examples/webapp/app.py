"""The web app: sign-in with ``initiate_auth_code_flow`` / ``acquire_token_by_auth_code_flow``,
then tokens with ``acquire_token_silent``.

Routes:
    ``/``          who is signed in, with links.
    ``/login``     starts the flow (kept in the server-side session) and redirects to
                   the identity provider.
    ``/callback``  the redirect URI: the provider posts the response here
                   (``response_mode=form_post``); the flow is taken out of the session
                   first, so a replayed or forged response finds nothing to complete.
    ``/token``     an access token for the signed-in user from the cache
                   (``acquire_token_silent``); only its source and lifetime are shown.
    ``/logout``    forgets the session and the account's tokens.

The session id travels in an ``HttpOnly; SameSite=None; Secure`` cookie: ``form_post``
is a cross-site POST, which ``SameSite=Lax`` cookies do not follow. Browsers accept
``Secure`` cookies from ``http://localhost``; anywhere else serve the app over https.
"""

from __future__ import annotations

import html
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

__all__ = ["WebApp"]

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_COOKIE = "webapp_sid"
_MAX_BODY = 64 * 1024


@dataclass
class _Reply:
    status: str
    body: str
    headers: list[tuple[str, str]]


class WebApp:
    """A WSGI application around a tokensmith (or MSAL) application object.

    Args:
        msal_app: a ``ConfidentialClientApplication`` registered for ``redirect_uri``.
        redirect_uri: this app's ``/callback`` address as registered.
        scopes: the scopes of the access token the app wants for its users.
    """

    def __init__(self, msal_app: Any, redirect_uri: str, scopes: list[str]) -> None:
        self.msal_app = msal_app
        self.redirect_uri = redirect_uri
        self.scopes = scopes
        self._sessions: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        sid, session = self._session(environ)
        routes: dict[str, Callable[[dict[str, Any], dict[str, Any]], _Reply]] = {
            "/": self._home,
            "/login": self._login,
            "/callback": self._callback,
            "/token": self._token,
            "/logout": self._logout,
        }
        route = routes.get(environ.get("PATH_INFO") or "/")
        reply = route(environ, session) if route else _page("404 Not Found", "Not found.")
        headers = [*reply.headers, ("Content-Type", "text/html; charset=utf-8")]
        headers.append(("Cache-Control", "no-store"))
        headers.append(("Set-Cookie", f"{_COOKIE}={sid}; Path=/; HttpOnly; SameSite=None; Secure"))
        start_response(reply.status, headers)
        return [reply.body.encode("utf-8")]

    def _session(self, environ: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        sid = cookie[_COOKIE].value if _COOKIE in cookie else ""
        with self._lock:
            if sid not in self._sessions:
                sid = secrets.token_urlsafe(32)
                self._sessions[sid] = {}
            return sid, self._sessions[sid]

    def _home(self, environ: dict[str, Any], session: dict[str, Any]) -> _Reply:
        user = session.get("username")
        if not user:
            return _page("200 OK", '<p id="status">Not signed in.</p><a href="/login">Sign in</a>')
        return _page(
            "200 OK",
            f'<p id="status">Signed in as <b id="user">{html.escape(user)}</b>.</p>'
            '<a href="/token">Get a token</a> <a href="/logout">Sign out</a>',
        )

    def _login(self, environ: dict[str, Any], session: dict[str, Any]) -> _Reply:
        flow = self.msal_app.initiate_auth_code_flow(
            self.scopes, redirect_uri=self.redirect_uri, response_mode="form_post"
        )
        session["flow"] = flow
        return _Reply("302 Found", "", [("Location", flow["auth_uri"])])

    def _callback(self, environ: dict[str, Any], session: dict[str, Any]) -> _Reply:
        params = _request_params(environ)
        flow = session.pop("flow", {})  # one use only: a replay finds no flow
        try:
            result = self.msal_app.acquire_token_by_auth_code_flow(flow, params)
        except ValueError:  # state mismatch, no flow in this session: CSRF or replay
            return _page("400 Bad Request", '<p id="error">Sign-in response rejected.</p>')
        except RuntimeError:  # the id_token failed validation (nonce, issuer, ...)
            return _page("400 Bad Request", '<p id="error">Sign-in token rejected.</p>')
        if "error" in result:
            message = f"{result['error']}: {result.get('error_description', '')}"
            return _page("400 Bad Request", f'<p id="error">{html.escape(message)}</p>')
        claims = result.get("id_token_claims", {})
        session["username"] = claims.get("preferred_username") or claims.get("sub")
        session["home_account_id"] = _home_account_id(self.msal_app, session["username"])
        return _Reply("302 Found", "", [("Location", "/")])

    def _token(self, environ: dict[str, Any], session: dict[str, Any]) -> _Reply:
        accounts = [
            a
            for a in self.msal_app.get_accounts()
            if a["home_account_id"] == session.get("home_account_id")
        ]
        result = self.msal_app.acquire_token_silent(self.scopes, accounts[0]) if accounts else None
        if not result or "access_token" not in result:
            return _page("401 Unauthorized", '<p id="error">Sign in first.</p>')
        return _page(
            "200 OK",
            f'<p>Access token from <b id="source">{html.escape(result["token_source"])}</b>, '
            f'expires in <span id="expires">{int(result["expires_in"])}</span> s.</p>',
        )

    def _logout(self, environ: dict[str, Any], session: dict[str, Any]) -> _Reply:
        for account in self.msal_app.get_accounts():
            if account["home_account_id"] == session.get("home_account_id"):
                self.msal_app.remove_account(account)
        session.clear()
        return _Reply("302 Found", "", [("Location", "/")])


def _home_account_id(msal_app: Any, username: str | None) -> str | None:
    accounts = msal_app.get_accounts(username=username) if username else []
    return accounts[0]["home_account_id"] if accounts else None


def _request_params(environ: dict[str, Any]) -> dict[str, str]:
    if environ.get("REQUEST_METHOD") == "POST":
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        raw = environ["wsgi.input"].read(min(max(length, 0), _MAX_BODY)).decode("utf-8", "replace")
    else:
        raw = environ.get("QUERY_STRING", "")
    return {k: v[0] for k, v in parse_qs(raw).items()}


def _page(status: str, content: str) -> _Reply:
    body = f"<!DOCTYPE html><html><head><title>Web app</title></head><body>{content}</body></html>"
    return _Reply(status, body, [])
