"""The open broker's methods: the Linux broker's JSON requests in, its JSON out.

:class:`OpenBroker` answers the methods of ``com.microsoft.identity.Broker1``
(:mod:`tokensmith.broker.wire`) with tokensmith's own public client flows against any
OpenID provider: one :class:`~tokensmith.PublicClientApplication` per calling
``clientId``, all sharing one token cache kept in the :class:`~.vault.Vault`.

* Refresh tokens stay in that cache, encrypted under the device key; no response
  carries one.
* Interactive sign-in runs in the system browser with a loopback redirect
  (tokensmith's interactive listener); a second app then gets tokens silently when
  the provider lets it redeem the first app's refresh token (a family, FOCI) or the
  same app runs again elsewhere.
* PoP: with ``popParams``, the access token comes back wrapped in a signed HTTP request
  made with the broker's own key (:mod:`.pop`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from tokensmith._jwt import b64url_decode, b64url_encode
from tokensmith._redact import logger
from tokensmith.application.public import PublicClientApplication
from tokensmith.broker import wire
from tokensmith.broker.base import BrokerAccount, BrokerError, BrokerStatus, BrokerToken
from tokensmith.brokerd.pop import PopKey
from tokensmith.brokerd.vault import Vault
from tokensmith.cache import SerializableTokenCache
from tokensmith.errors import TokensmithError

__all__ = ["VERSION", "OpenBroker"]

VERSION = "2.0.1"
"""The Linux broker version the daemon answers (the last one with the JSON shapes all
known clients speak)."""
_TOKENS = "tokens"
_PROMPTS = frozenset({"login", "consent", "select_account", "none"})
_TOKEN_METHODS = frozenset({"acquireTokenSilently", "acquireTokenInteractively"})


class OpenBroker:
    """The broker's state and its method handlers (thread-safe).

    Args:
        authority: the provider's authority URL (``https://host/tenant``), or with
            ``oidc`` an OpenID issuer URL.
        oidc: ``authority`` is a generic OpenID provider (no tenants).
        vault: where the cache and the PoP key live.
        verify: TLS verification for the provider (``True``, or a CA bundle path).
        interactive_timeout: seconds a browser sign-in may take.
        clock: epoch seconds (tests).
    """

    def __init__(
        self,
        authority: str,
        *,
        vault: Vault,
        oidc: bool = False,
        verify: bool | str = True,
        interactive_timeout: float = 600.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._authority, self._oidc, self._verify = authority.rstrip("/"), oidc, verify
        self._vault = vault
        self._timeout = interactive_timeout
        self._clock = clock
        self.cache = SerializableTokenCache()
        stored = vault.read(_TOKENS)
        if stored:
            self.cache.deserialize(stored.decode("utf-8"))
        self.pop_key = PopKey.load(vault)
        self._apps: dict[tuple[str, str], PublicClientApplication] = {}
        self._lock = threading.Lock()

    # -- plumbing ----------------------------------------------------------------------

    def handle(self, method: str, request_json: str) -> str:
        """Answer one D-Bus method call (``method``, ``requestJson``) with its JSON."""
        token_method = method in _TOKEN_METHODS
        try:
            request = wire.decode(request_json)
            handler = _HANDLERS.get(method)
            if handler is None:
                raise BrokerError(BrokerStatus.API_CONTRACT_VIOLATION, f"{method} is not served")
            response = handler(self, request)
        except BrokerError as exc:
            logger.info("broker %s failed: %s", method, exc.status.name)
            response = wire.error_json(exc, token_method=token_method)
        finally:
            self._persist()
        return json.dumps(response, separators=(",", ":"))

    def _persist(self) -> None:
        with self._lock:
            if self.cache.has_state_changed:
                self._vault.write(_TOKENS, self.cache.serialize().encode("utf-8"))
                self.cache.has_state_changed = False

    def _app(self, client_id: object, authority: object) -> PublicClientApplication:
        if not isinstance(client_id, str) or not client_id:
            raise BrokerError(BrokerStatus.API_CONTRACT_VIOLATION, "clientId is missing")
        url = self._authority if self._oidc else self._authority_for(authority)
        key = (client_id, url)
        with self._lock:
            app = self._apps.get(key)
            if app is None:
                options: dict[str, Any] = {"token_cache": self.cache, "verify": self._verify}
                if self._clock is not None:
                    options["clock"] = self._clock
                if self._oidc:
                    options["oidc_authority"] = url
                else:
                    options["authority"] = url
                app = self._apps[key] = PublicClientApplication(client_id, **options)
        return app

    def _authority_for(self, requested: object) -> str:
        """The configured provider with the tenant the app asked for (an app says
        ``https://login.microsoftonline.com/organizations``: the tenant is kept, the
        host is the broker's provider)."""
        base = urlsplit(self._authority)
        tenant = ""
        if isinstance(requested, str):
            tenant = urlsplit(requested).path.strip("/").split("/")[0]
        if not tenant:
            tenant = base.path.strip("/").split("/")[0] or "organizations"
        return f"{base.scheme}://{base.netloc}/{tenant}"

    # -- accounts ------------------------------------------------------------------------

    def _accounts(self) -> list[BrokerAccount]:
        seen: dict[str, BrokerAccount] = {}
        for entry in self.cache.search(self.cache.CredentialType.ACCOUNT):
            home = entry.get("home_account_id")
            if isinstance(home, str) and home and home not in seen:
                seen[home] = self._account(entry)
        return list(seen.values())

    def _account(self, entry: Mapping[str, Any]) -> BrokerAccount:
        home = str(entry["home_account_id"])
        uid, _, utid = home.partition(".")
        info = b64url_encode(json.dumps({"uid": uid, "utid": utid}).encode()) if utid else None
        claims = self._claims_of(home)
        raw = {
            "accountId": home,
            "homeAccountId": home,
            "localAccountId": entry.get("local_account_id") or uid,
            "environment": entry.get("environment"),
            "realm": entry.get("realm"),
            "username": entry.get("username"),
            "name": claims.get("name"),
            "clientInfo": info,
        }
        raw = {k: v for k, v in raw.items() if v}
        return wire.account_from_json(raw)

    def _claims_of(self, home: str) -> dict[str, Any]:
        token = self._id_token_of(home)
        if not token:
            return {}
        try:
            value = json.loads(b64url_decode(token.split(".")[1]))
        except (ValueError, IndexError):
            return {}
        return value if isinstance(value, dict) else {}

    def _id_token_of(self, home: str) -> str | None:
        query = {"home_account_id": home}
        for entry in self.cache.search(self.cache.CredentialType.ID_TOKEN, query=query):
            secret = entry.get("secret")
            if isinstance(secret, str):
                return secret
        return None

    def _requested_account(self, request: Mapping[str, Any]) -> Mapping[str, Any]:
        params = request.get("authParameters")
        account = params.get("account") if isinstance(params, dict) else None
        account = account or request.get("account")  # Firefox/Chrome put it at the root
        if not isinstance(account, dict) or not account.get("homeAccountId"):
            raise BrokerError(BrokerStatus.API_CONTRACT_VIOLATION, "the request names no account")
        return account

    def _home_for_silent(self, request: Mapping[str, Any]) -> str:
        """The account of a silent call; without one (MSALRuntime's ``isSignIn``
        with ``"account": null``), the device's only account."""
        params = request.get("authParameters")
        if (isinstance(params, dict) and params.get("account")) or request.get("account"):
            return str(self._requested_account(request)["homeAccountId"])
        accounts = self._accounts()
        if len(accounts) != 1:
            raise BrokerError(
                BrokerStatus.INTERACTION_REQUIRED, f"{len(accounts)} accounts on this device"
            )
        return str(accounts[0].home_account_id)

    def get_accounts(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """``getAccounts``: every account signed in on this device."""
        return {"accounts": [wire.account_to_json(a) for a in self._accounts()]}

    def remove_account(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """``removeAccount``: sign the account out of the device (all its tokens)."""
        home = self._requested_account(request)["homeAccountId"]
        cache, kind = self.cache, self.cache.CredentialType
        query = {"home_account_id": home}
        for entry in list(cache.search(kind.REFRESH_TOKEN, query=query)):
            cache.remove_rt(entry)
        for entry in list(cache.search(kind.ACCESS_TOKEN, query=query)):
            cache.remove_at(entry)
        for entry in list(cache.search(kind.ID_TOKEN, query=query)):
            cache.remove_idt(entry)
        for entry in list(cache.search(kind.ACCOUNT, query=query)):
            cache.remove_account(entry)
        return {}

    # -- tokens --------------------------------------------------------------------------

    def acquire_token_silently(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """``acquireTokenSilently``: from the cache, refreshed with the device's
        refresh tokens; "interaction required" when there is none that works."""
        params = _auth_parameters(request)
        home = self._home_for_silent(request)
        app = self._app(params.get("clientId"), params.get("authority"))
        account = next((a for a in app.get_accounts() if a["home_account_id"] == home), None)
        if account is None:
            raise BrokerError(BrokerStatus.INTERACTION_REQUIRED, "no such account on this device")
        result = app.acquire_token_silent_with_error(
            list(wire.scopes_of(params.get("requestedScopes", []))),
            account,
            claims_challenge=_text(params.get("decodedClaims")),
            force_refresh=params.get("forceRefresh") is True,
        )
        if not result or "error" in result:
            detail = result.get("error_description") if result else None
            raise BrokerError(BrokerStatus.INTERACTION_REQUIRED, str(detail or "sign in again"))
        return self._token_response(params, result, home)

    def acquire_token_interactively(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """``acquireTokenInteractively``: a sign-in in the system browser."""
        params = _auth_parameters(request)
        app = self._app(params.get("clientId"), params.get("authority"))
        prompt = params.get("prompt")
        try:
            result = app.acquire_token_interactive(
                list(wire.scopes_of(params.get("requestedScopes", []))),
                prompt=prompt if prompt in _PROMPTS else None,
                login_hint=_text(params.get("username")),
                claims_challenge=_text(params.get("decodedClaims")),
                timeout=self._timeout,
            )
        except TokensmithError as exc:  # no browser answer in time, a refused id_token
            raise BrokerError(BrokerStatus.USER_CANCELED, str(exc)) from None
        if "error" in result:
            status = (
                BrokerStatus.USER_CANCELED
                if result["error"] == "access_denied"
                else BrokerStatus.UNEXPECTED
            )
            raise BrokerError(status, f"{result['error']}: {result.get('error_description', '')}")
        return self._token_response(params, result, _home_of(result))

    def _token_response(
        self, params: Mapping[str, Any], result: Mapping[str, Any], home: str
    ) -> dict[str, Any]:
        entry = next((a for a in self._accounts() if a.home_account_id == home), None)
        if entry is None:
            raise BrokerError(BrokerStatus.UNEXPECTED, "the provider named no account")
        now = self._clock() if self._clock is not None else _now()
        access_token = str(result["access_token"])
        pop = wire.pop_from_json(params.get("popParams"))
        if pop is not None:
            access_token = self.pop_key.sign(pop, now, access_token)
        token = BrokerToken(
            access_token=access_token,
            token_type="pop" if pop is not None else "Bearer",
            expires_on=int(now) + int(result.get("expires_in") or 0),
            scopes=tuple(str(result.get("scope") or "").split()),
            account=entry,
            id_token=result.get("id_token") or self._id_token_of(home),
        )
        return wire.token_to_json(token)

    # -- the rest ------------------------------------------------------------------------

    def generate_signed_http_request(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """``generateSignedHttpRequest``: an SHR for ``popParams`` with the broker's
        key, wrapping the request's ``accessToken``."""
        pop = wire.pop_from_json(request.get("popParams"))
        access_token = _text(request.get("accessToken"))
        if pop is None or access_token is None:
            text = "popParams and accessToken are required"
            raise BrokerError(BrokerStatus.API_CONTRACT_VIOLATION, text)
        now = self._clock() if self._clock is not None else _now()
        shr = self.pop_key.sign(pop, now, access_token)
        return {"signedHttpRequest": shr}

    def get_version(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """``getLinuxBrokerVersion`` (``openBrokerVersion`` says: tokensmith's, which
        signs HTTP requests)."""
        from tokensmith._version import __version__

        return {"linuxBrokerVersion": VERSION, "openBrokerVersion": __version__}

    def cancel(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """``cancelInteractiveFlow``: accepted; a browser sign-in ends at its timeout."""
        return {}

    def prt_cookie(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """``acquirePrtSsoCookie``: there is no primary refresh token outside Entra."""
        raise BrokerError(BrokerStatus.API_CONTRACT_VIOLATION, "PRT SSO cookies are not issued")


_HANDLERS: dict[str, Callable[[OpenBroker, Mapping[str, Any]], dict[str, Any]]] = {
    "getLinuxBrokerVersion": OpenBroker.get_version,
    "getAccounts": OpenBroker.get_accounts,
    "acquireTokenSilently": OpenBroker.acquire_token_silently,
    "acquireTokenInteractively": OpenBroker.acquire_token_interactively,
    "removeAccount": OpenBroker.remove_account,
    "generateSignedHttpRequest": OpenBroker.generate_signed_http_request,
    "cancelInteractiveFlow": OpenBroker.cancel,
    "acquirePrtSsoCookie": OpenBroker.prt_cookie,
}


def _auth_parameters(request: Mapping[str, Any]) -> Mapping[str, Any]:
    params = request.get("authParameters")
    if not isinstance(params, dict):
        raise BrokerError(BrokerStatus.API_CONTRACT_VIOLATION, "authParameters is missing")
    return params


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _home_of(result: Mapping[str, Any]) -> str:
    info = result.get("client_info")
    if isinstance(info, str) and info:
        try:
            decoded = json.loads(b64url_decode(info))
            return f"{decoded['uid']}.{decoded['utid']}"
        except (ValueError, KeyError, TypeError):
            pass
    claims = result.get("id_token_claims") or {}
    return str(claims.get("sub", ""))


def _now() -> float:
    import time

    return time.time()
