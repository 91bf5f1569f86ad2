"""HTML of the dev IdP's pages: sign-in, MFA approval, consent, device code entry,
the ``form_post`` auto-submit page and error pages.

Every value placed in a page is escaped here; field names are stable so that scripted
people in tests (and real people) can fill the forms in. Passwords are never echoed.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from tokensmith.devidp.wire import Response, html_page

__all__ = ["consent_page", "device_page", "error_page", "form_post_page", "login_page", "mfa_page"]


def _hidden(fields: Mapping[str, str]) -> str:
    return "".join(
        f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
        for k, v in fields.items()
    )


def _form(action: str, fields: Mapping[str, str], inner: str, form_id: str) -> str:
    return (
        f"<form id='{form_id}' method='post' action='{html.escape(action)}'>"
        f"{_hidden(fields)}{inner}</form>"
    )


def _problem(message: str | None) -> str:
    return f"<p class='error' role='alert'>{html.escape(message)}</p>" if message else ""


def login_page(
    action: str, fields: Mapping[str, str], *, app_name: str, login_hint: str, error: str | None
) -> Response:
    """The sign-in form: ``login`` and ``passwd`` (Entra's field names)."""
    inner = (
        f"<p>Sign in to continue to <b>{html.escape(app_name)}</b>.</p>{_problem(error)}"
        "<label>Username <input name='login' type='email' "
        f"value='{html.escape(login_hint)}' autofocus></label><br>"
        "<label>Password <input name='passwd' type='password'></label><br>"
        "<button type='submit' name='step' value='login'>Sign in</button>"
    )
    return html_page("Sign in", _form(action, fields, inner, "login"))


def mfa_page(action: str, fields: Mapping[str, str], username: str) -> Response:
    """The second factor: a simulated 'approve sign-in request' prompt."""
    inner = (
        f"<p>Approve the sign-in request for <b>{html.escape(username)}</b> "
        "(simulated multi-factor authentication).</p>"
        "<button type='submit' name='step' value='mfa'>Approve</button>"
    )
    return html_page("Approve sign in request", _form(action, fields, inner, "mfa"))


def consent_page(
    action: str, fields: Mapping[str, str], *, app_name: str, permissions: list[str]
) -> Response:
    """The consent prompt: Accept, or Cancel (AADSTS65004 back to the app)."""
    items = "".join(f"<li>{html.escape(p)}</li>" for p in permissions)
    inner = (
        f"<p><b>{html.escape(app_name)}</b> asks for these permissions:</p><ul>{items}</ul>"
        "<button type='submit' name='step' value='consent'>Accept</button> "
        "<button type='submit' name='step' value='decline'>Cancel</button>"
    )
    return html_page("Permissions requested", _form(action, fields, inner, "consent"))


def device_page(action: str, *, user_code: str, message: str | None, done: bool) -> Response:
    """``/devicelogin``: enter the code, then sign in, on one form."""
    if done:
        body = f"<p>{html.escape(message or '')}</p><p>You may now close this window.</p>"
        return html_page("Device sign-in", body)
    inner = (
        f"{_problem(message)}"
        "<label>Code <input name='otc' "
        f"value='{html.escape(user_code)}' autofocus></label><br>"
        "<label>Username <input name='login' type='email'></label><br>"
        "<label>Password <input name='passwd' type='password'></label><br>"
        "<button type='submit' name='step' value='login'>Sign in</button> "
        "<button type='submit' name='step' value='decline'>Cancel</button>"
    )
    return html_page("Enter code", _form(action, {}, inner, "device"))


def form_post_page(redirect_uri: str, params: Mapping[str, str]) -> Response:
    """``response_mode=form_post``: a form that posts the response to the app."""
    inner = "<noscript><button type='submit'>Continue</button></noscript>"
    body = _form(redirect_uri, params, inner, "response") + (
        "<script>document.getElementById('response').submit()</script>"
    )
    return html_page("Working...", body)


def error_page(code: int, message: str, status: int = 400) -> Response:
    """An error Entra shows instead of redirecting (bad client or redirect URI)."""
    text = f"AADSTS{code}: {message}" if code else message
    return html_page("Sorry, but we're having trouble signing you in.", _problem(text), status)
