"""``acquire_token_interactive``: sign-in in the system browser, answer on loopback.

The authorization code flow of :mod:`~tokensmith.application.auth_code` with the
redirect going to a :class:`~tokensmith.interactive.LoopbackListener` on this device
(RFC 8252): PKCE S256, ``state`` checked by the listener and again before redemption,
``nonce`` checked in the id_token, one response accepted, then the listener closes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tokensmith._redact import logger
from tokensmith.application.auth_code import AuthCodeMixin
from tokensmith.application.results import TokenResult
from tokensmith.errors import ConfigurationError

__all__ = ["InteractiveMixin"]


class InteractiveMixin(AuthCodeMixin):
    """MSAL's ``PublicClientApplication.acquire_token_interactive`` (browser, no broker)."""

    def acquire_token_interactive(
        self,
        scopes: list[str],
        prompt: str | None = None,
        login_hint: str | None = None,
        domain_hint: str | None = None,
        claims_challenge: str | None = None,
        timeout: float | None = None,
        port: int | None = None,
        extra_scopes_to_consent: list[str] | None = None,
        max_age: int | None = None,
        parent_window_handle: Any = None,
        on_before_launching_ui: Callable[..., object] | None = None,
        auth_scheme: Any = None,
        **kwargs: Any,
    ) -> TokenResult:
        """Sign the user in through the system browser and return the tokens (cached).

        Args:
            scopes: the scopes of the access token.
            prompt, login_hint, domain_hint, claims_challenge, max_age: sent to the
                authorization endpoint as MSAL sends them.
            timeout: seconds to wait for the browser's answer (None: no limit).
            port: the loopback port (default: a free one); the redirect URI is
                ``http://localhost:<port>``.
            extra_scopes_to_consent: more scopes to consent to now, not in this token.
            parent_window_handle: accepted for MSAL compatibility (no broker here).
            on_before_launching_ui: called as ``on_before_launching_ui(ui="browser")``.
            auth_scheme: PoP needs a broker; any value raises ``ValueError``.
            **kwargs: MSAL's ``welcome_template``, ``success_template``,
                ``error_template``, ``auth_uri_callback`` (called with the address when
                no browser opened), ``browser_name`` (a name given to
                :func:`webbrowser.register`) and ``data``; tokensmith's
                ``response_mode`` (``"form_post"``, the default, or ``"query"``) and
                ``verify_id_token_signature``.

        Returns:
            The token result, or an error dict (the provider redirected with an error,
            e.g. ``access_denied``, or refused the code).

        Raises:
            BrowserInteractionTimeoutError: no answer within ``timeout``.
            ValueError: bad arguments, or the port cannot be listened on.
            IdTokenError: the id_token failed validation (nonce, issuer, ...).
        """
        del parent_window_handle  # only a broker uses it
        if auth_scheme is not None:
            raise ConfigurationError("auth_scheme (PoP) needs a broker, which is not enabled")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float))
        ):
            raise ConfigurationError("timeout must be a number of seconds or None")
        # the listener pulls in http.server: loaded only when a sign-in happens
        from tokensmith.interactive import LoopbackListener, Pages, open_browser, show_address

        decorated = self._decorate(scopes or [])
        extra = self._extra_scopes(extra_scopes_to_consent)
        pages = Pages(
            welcome=kwargs.get("welcome_template"),
            success=kwargs.get("success_template"),
            error=kwargs.get("error_template"),
        )
        response_mode = kwargs.get("response_mode") or "form_post"
        with LoopbackListener(port, response_mode=response_mode, pages=pages) as listener:
            flow = self._start_flow(
                sorted(set(decorated) | extra),
                redirect_uri=listener.redirect_uri,
                state=None,
                claims_challenge=claims_challenge,
                max_age=max_age,
                response_mode=response_mode,
                prompt=prompt,
                login_hint=login_hint,
                domain_hint=domain_hint,
            )
            listener.expect(flow["state"], flow["auth_uri"])
            if on_before_launching_ui is not None:
                on_before_launching_ui(ui="browser")
            target = listener.welcome_uri if pages.welcome else flow["auth_uri"]
            logger.debug("Interactive sign-in: waiting on loopback port %s", listener.port)
            if not open_browser(target, kwargs.get("browser_name")):
                show_address(target, kwargs.get("auth_uri_callback"))
            auth_response = listener.wait(timeout)
        return self._complete_flow(flow, auth_response, decorated, kwargs, api="interactive")

    @staticmethod
    def _extra_scopes(extra: Any) -> set[str]:
        if not extra:
            return set()
        if not isinstance(extra, (list, tuple, set)) or not all(isinstance(s, str) for s in extra):
            raise ConfigurationError("extra_scopes_to_consent must be a list of strings")
        return set(extra)
