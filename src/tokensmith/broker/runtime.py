"""The pymsalruntime backend: Microsoft's MSALRuntime, which talks to WAM on Windows,
the Enterprise SSO plug-in on macOS, and the Linux identity broker over D-Bus
(``com.microsoft.identity.broker1``; WSL goes to Windows' WAM).

pymsalruntime's calls are asynchronous: each takes a callback, called on another
thread with the result. :class:`RuntimeBroker` waits for it, so every method blocks,
as :class:`~tokensmith.broker.base.BrokerBackend` says. Facts from pymsalruntime
0.20's ``PyMsalRuntime.pyi`` and MSAL Python 1.39's use of it
(reference/broker-pop.md §2).

Importing pymsalruntime starts MSALRuntime: on Linux it loads WebKitGTK (``OSError``
without it) and pings the broker on the session bus (``RuntimeError`` when no broker
answers); both mean "unavailable" (:func:`import_runtime`).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

from tokensmith._version import __version__
from tokensmith.broker.base import (
    BrokerAccount,
    BrokerCapabilities,
    BrokerError,
    BrokerStatus,
    BrokerToken,
    BrokerUnavailable,
    InteractiveRequest,
    PopParams,
    TokenRequest,
)
from tokensmith.broker.policy import INSTALL_HINT, broker_redirect_uri

__all__ = ["RuntimeBroker", "import_runtime"]

_STATUSES = {
    "Status_" + "".join(w.title() for w in status.name.split("_")): status
    for status in BrokerStatus
}


def import_runtime() -> Any:
    """Import pymsalruntime (which starts MSALRuntime).

    Raises:
        ImportError: pymsalruntime is not installed (the message names the extra).
        BrokerUnavailable: it is installed but cannot start here.
    """
    try:
        return importlib.import_module("pymsalruntime")
    except (ImportError, AttributeError) as exc:
        if isinstance(exc, ImportError) and exc.name not in (None, "pymsalruntime"):
            raise BrokerUnavailable(f"pymsalruntime cannot load: {exc}") from exc
        raise ImportError(f"{INSTALL_HINT} (pymsalruntime is missing)") from exc
    except (OSError, RuntimeError) as exc:
        raise BrokerUnavailable(f"MSALRuntime did not start: {exc}") from exc


def status_of(value: object) -> BrokerStatus:
    """The :class:`BrokerStatus` of a pymsalruntime ``Response_Status`` (or its str)."""
    name = str(getattr(value, "name", value)).rsplit(".", 1)[-1]
    return _STATUSES.get(name, BrokerStatus.UNEXPECTED)


class RuntimeBroker:
    """:class:`~tokensmith.broker.base.BrokerBackend` over pymsalruntime.

    Args:
        runtime: the imported ``pymsalruntime`` module (or a stand-in with its API).
        system: ``sys.platform`` of the machine: PoP and passwords go to WAM and the
            macOS broker only (MSAL's rule), the redirect URI is the platform's.
    """

    name = "pymsalruntime"

    def __init__(self, runtime: Any, system: str) -> None:
        self._rt = runtime
        self._system = system
        desktop = system in ("win32", "darwin")
        self.capabilities = BrokerCapabilities(pop=desktop, username_password=desktop)
        self.redirect_uri = broker_redirect_uri(system)

    def _wait(self, start: Callable[[Callable[[Any], None]], Any]) -> Any:
        done = threading.Event()
        box: list[Any] = []

        def callback(result: Any) -> None:
            box.append(result)
            done.set()

        start(callback)
        done.wait()
        return box[0]

    def _params(self, request: TokenRequest) -> Any:
        params = self._rt.MSALRuntimeAuthParameters(request.client_id, request.authority)
        params.set_additional_parameter("msal_client_sku", "tokensmith")
        params.set_additional_parameter("msal_client_ver", __version__)
        params.set_redirect_uri(request.redirect_uri)
        params.set_requested_scopes(list(request.scopes))
        if request.claims:
            params.set_decoded_claims(request.claims)
        if request.pop is not None:
            pop: PopParams = request.pop
            params.set_pop_params(pop.http_method, pop.host, pop.path, pop.nonce)
        for key, value in request.extra.items():
            params.set_additional_parameter(key, value)
        return params

    def _token(self, result: Any) -> BrokerToken:
        _raise_error(result)
        account = result.get_account()
        if not account:
            raise BrokerError(BrokerStatus.UNEXPECTED, "the broker returned no account")
        pop = bool(result.is_pop_authorization())
        if pop:  # the authorization header is "pop <SignedHttpRequest>"
            access_token = result.get_authorization_header().split()[1]
        else:
            access_token = result.get_access_token()
        return BrokerToken(
            access_token=access_token,
            token_type="pop" if pop else "Bearer",
            expires_on=int(result.get_access_token_expiry_time()),
            scopes=tuple(result.get_granted_scopes() or ()),
            account=_account(account),
            id_token=result.get_raw_id_token() or None,
        )

    def _runtime_account(self, account: BrokerAccount, correlation_id: str) -> Any:
        held = account.raw.get("runtime")
        if held is not None:
            return held
        found = self.read_account("", account.account_id, correlation_id)
        if found is None:
            raise BrokerError(BrokerStatus.ACCOUNT_NOT_FOUND, "the broker does not know it")
        return found.raw["runtime"]

    def get_accounts(self, client_id: str, correlation_id: str) -> list[BrokerAccount]:
        result = self._wait(lambda cb: self._rt.discover_accounts(client_id, correlation_id, cb))
        _raise_error(result)
        return [_account(a) for a in result.get_accounts() or ()]

    def read_account(
        self, client_id: str, account_id: str, correlation_id: str
    ) -> BrokerAccount | None:
        result = self._wait(lambda cb: self._rt.read_account_by_id(account_id, correlation_id, cb))
        if result.get_error():
            return None
        account = result.get_account()
        return _account(account) if account else None

    def sign_in_silently(self, request: TokenRequest) -> BrokerToken:
        params = self._params(request)
        cid = request.correlation_id
        return self._token(self._wait(lambda cb: self._rt.signin_silently(params, cid, cb)))

    def sign_in_interactively(self, request: InteractiveRequest) -> BrokerToken:
        params = self._params(request)
        window = request.parent_window
        if window is None:  # a console app: MSAL's workaround for hanging pickers
            params.set_additional_parameter("msal_gui_thread", "true")
            window = self._rt.get_console_window() or self._rt.get_desktop_window()
        hint, cid = request.login_hint, request.correlation_id
        return self._token(
            self._wait(lambda cb: self._rt.signin_interactively(window, params, cid, hint, cb))
        )

    def acquire_token_silently(self, request: TokenRequest) -> BrokerToken:
        if request.account is None:
            return self.sign_in_silently(request)
        params = self._params(request)
        cid = request.correlation_id
        account = self._runtime_account(request.account, cid)
        return self._token(
            self._wait(lambda cb: self._rt.acquire_token_silently(params, cid, account, cb))
        )

    def sign_out(self, client_id: str, account: BrokerAccount, correlation_id: str) -> None:
        held = self._runtime_account(account, correlation_id)
        result = self._wait(
            lambda cb: self._rt.signout_silently(client_id, correlation_id, held, cb)
        )
        _raise_error(result)

    def generate_signed_http_request(
        self,
        client_id: str,
        account: BrokerAccount,
        pop: PopParams,
        correlation_id: str,
        access_token: str | None = None,
    ) -> str:
        raise BrokerError(
            BrokerStatus.API_CONTRACT_VIOLATION,
            "pymsalruntime signs HTTP requests only as part of a token request (auth_scheme=)",
        )

    def close(self) -> None:
        """Nothing to release: MSALRuntime shuts down at exit."""


def _raise_error(result: Any) -> None:
    error = result.get_error()
    if error:
        raise BrokerError(
            status_of(error.get_status()),
            str(error.get_context()),
            error_code=int(error.get_error_code()),
            tag=int(error.get_tag()),
        )


def _account(account: Any) -> BrokerAccount:
    return BrokerAccount(
        account_id=account.get_account_id(),
        home_account_id=account.get_home_account_id() or None,
        environment=account.get_environment() or None,
        realm=account.get_realm() or None,
        username=account.get_user_name() or None,
        display_name=account.get_display_name() or None,
        client_info=account.get_client_info() or None,
        raw={"runtime": account},
    )
