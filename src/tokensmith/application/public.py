"""``PublicClientApplication``: apps that cannot keep a secret (desktop, CLI, mobile)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tokensmith.application.acquire import record
from tokensmith.application.client_application import ClientApplication
from tokensmith.application.headers import new_correlation_id, request_headers
from tokensmith.application.interactive import InteractiveMixin
from tokensmith.application.results import TokenResult
from tokensmith.errors import ConfigurationError
from tokensmith.protocol.device_code import initiate_device_flow, poll_device_flow

__all__ = ["DEVICE_CODE_GRANT", "PublicClientApplication"]

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class PublicClientApplication(InteractiveMixin, ClientApplication):
    """MSAL's public client: device code, username/password, silent, refresh-token import."""

    CONSOLE_WINDOW_HANDLE = object()
    DEVICE_FLOW_CORRELATION_ID = "_correlation_id"
    _is_public = True

    def __init__(
        self,
        client_id: str,
        client_credential: Any = None,
        *,
        enable_broker_on_windows: bool | None = None,
        enable_broker_on_mac: bool | None = None,
        enable_broker_on_linux: bool | None = None,
        enable_broker_on_wsl: bool | None = None,
        **kwargs: Any,
    ) -> None:
        """Same parameters as MSAL's. The ``enable_broker_on_*`` opt-ins are accepted
        and recorded; no broker backend is wired yet, so every flow runs in-process."""
        super().__init__(client_id, client_credential, **kwargs)
        self._broker_opt_ins = {
            "windows": enable_broker_on_windows,
            "mac": enable_broker_on_mac,
            "linux": enable_broker_on_linux,
            "wsl": enable_broker_on_wsl,
        }

    def initiate_device_flow(
        self, scopes: list[str] | None = None, *, claims_challenge: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Start a device-code sign-in (RFC 8628 §3.1); show ``flow["message"]`` to the user.

        Raises:
            ValueError: the authority has no device authorization endpoint.
        """
        handle = self._handle(kwargs.get("authority"))
        endpoint = handle.metadata.device_authorization_endpoint
        if not endpoint:
            raise ConfigurationError(
                f"The authority {handle.spec.canonical_url} does not offer the device code flow"
            )
        decorated = self._decorate(scopes or [])
        correlation_id = new_correlation_id()
        headers = request_headers(
            self._ctx.base_headers, "by_device_flow", correlation_id=correlation_id
        )
        flow = self._ctx.run(
            initiate_device_flow(
                endpoint,
                client_id=self.client_id,
                scopes=decorated,
                claims=self._claims(claims_challenge),
                headers=headers,
                now=self._ctx.clock(),
                correlation_id=correlation_id,
            )
        )
        if "error" not in flow:
            if "message" not in flow:  # RFC 8628 has none; apps print it, as Entra sends one
                flow["message"] = (
                    "To sign in, use a web browser to open the page "
                    f"{flow.get('verification_uri')} and enter the code "
                    f"{flow.get('user_code')} to authenticate."
                )
            flow["_scope"] = decorated
            flow["_authority"] = kwargs.get("authority")
        return flow

    def acquire_token_by_device_flow(
        self, flow: dict[str, Any], claims_challenge: str | None = None, **kwargs: Any
    ) -> TokenResult:
        """Poll until the user finished signing in, the code expired, or
        ``flow["expires_at"]`` was set to 0; cache and return the result."""
        if not isinstance(flow, dict) or "device_code" not in flow:
            raise ConfigurationError("flow must be the dict initiate_device_flow returned")
        handle = self._handle(flow.get("_authority"))
        correlation_id = flow.get(self.DEVICE_FLOW_CORRELATION_ID) or new_correlation_id()
        headers = request_headers(
            self._ctx.base_headers, "by_device_flow", correlation_id=correlation_id
        )
        exit_condition: Callable[[dict[str, Any]], bool] | None = kwargs.get("exit_condition")
        response = self._ctx.run(
            poll_device_flow(
                handle.metadata.token_endpoint,
                flow,
                client_id=self.client_id,
                client_auth=self._ctx.client_auth,
                headers=headers,
                clock=self._ctx.clock,
                claims=self._claims(claims_challenge),
                exit_condition=exit_condition,
            )
        )
        return record(
            self._ctx,
            handle,
            response,
            scopes=flow.get("_scope") or self._decorate([]),
            grant_type=DEVICE_CODE_GRANT,
            data=kwargs.get("data"),
        )
