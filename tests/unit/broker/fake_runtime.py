"""A stand-in for the pymsalruntime module: the API of PyMsalRuntime.pyi 0.20, its
callbacks called on another thread, every call recorded."""

from __future__ import annotations

import enum
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.unit.application.fake_entra import TENANT, UID, client_info, unsigned_jwt


class Response_Status(enum.Enum):
    Status_Unexpected = 0
    Status_InteractionRequired = 2
    Status_AccountUnusable = 13
    Status_ApiContractViolation = 6


@dataclass
class Error:
    status: Response_Status
    context: str
    code: int = 3399614473
    tag: int = 557973642

    def get_status(self) -> Response_Status:
        return self.status

    def get_context(self) -> str:
        return self.context

    def get_error_code(self) -> int:
        return self.code

    def get_tag(self) -> int:
        return self.tag


class Account:
    def get_account_id(self) -> str:
        return "runtime-account-1"

    def get_home_account_id(self) -> str:
        return f"{UID}.{TENANT}"

    def get_environment(self) -> str:
        return "login.microsoftonline.com"

    def get_realm(self) -> str:
        return TENANT

    def get_user_name(self) -> str:
        return "ada@contoso.example"

    def get_display_name(self) -> str:
        return "Ada"

    def get_client_info(self) -> str:
        return client_info()


@dataclass
class Result:
    error: Error | None = None
    pop: bool = False
    account: Account | None = field(default_factory=Account)

    def get_error(self) -> Error | None:
        return self.error

    def get_account(self) -> Account | None:
        return self.account

    def get_raw_id_token(self) -> str:
        return unsigned_jwt(
            {"oid": UID, "tid": TENANT, "preferred_username": "ada@contoso.example"}
        )

    def get_access_token(self) -> str:
        return "runtime-at"

    def get_authorization_header(self) -> str:
        return "pop runtime-shr"

    def is_pop_authorization(self) -> bool:
        return self.pop

    def get_access_token_expiry_time(self) -> int:
        return 2_000_000_000

    def get_granted_scopes(self) -> list[str]:
        return ["s"]

    def get_accounts(self) -> list[Account]:
        return [Account()]


class Params:
    def __init__(self, runtime: FakeRuntime, client_id: str, authority: str) -> None:
        self.values: dict[str, Any] = {"client_id": client_id, "authority": authority}
        self.extra: dict[str, str] = {}
        runtime.params.append(self)

    def set_requested_scopes(self, scopes: list[str]) -> None:
        self.values["scopes"] = scopes

    def set_redirect_uri(self, uri: str) -> None:
        self.values["redirect_uri"] = uri

    def set_decoded_claims(self, claims: str) -> None:
        self.values["claims"] = json.loads(claims)

    def set_pop_params(self, method: str, host: str, path: str, nonce: str) -> None:
        self.values["pop"] = (method, host, path, nonce)

    def set_additional_parameter(self, key: str, value: str) -> None:
        self.extra[key] = value


class FakeRuntime:
    """``FakeRuntime().module`` has what tokensmith.broker.runtime calls."""

    def __init__(self) -> None:
        self.params: list[Params] = []
        self.calls: list[tuple[str, Any]] = []
        self.next: Result = Result()

    def MSALRuntimeAuthParameters(self, client_id: str, authority: str) -> Params:
        return Params(self, client_id, authority)

    def _later(self, name: str, args: Any, callback: Any, result: Any) -> None:
        self.calls.append((name, args))
        threading.Thread(target=callback, args=(result,)).start()

    def signin_silently(self, params: Params, cid: str, cb: Any) -> None:
        self._later("signin_silently", params, cb, self.next)

    def signin_interactively(
        self, window: Any, params: Params, cid: str, hint: Any, cb: Any
    ) -> None:
        self._later("signin_interactively", (window, hint), cb, self.next)

    def acquire_token_silently(self, params: Params, cid: str, account: Any, cb: Any) -> None:
        self._later("acquire_token_silently", account, cb, self.next)

    def read_account_by_id(self, account_id: str, cid: str, cb: Any) -> None:
        self._later("read_account_by_id", account_id, cb, Result())

    def signout_silently(self, client_id: str, cid: str, account: Any, cb: Any) -> None:
        self._later("signout_silently", account, cb, Result())

    def discover_accounts(self, client_id: str, cid: str, cb: Any) -> None:
        self._later("discover_accounts", client_id, cb, Result())

    def get_console_window(self) -> int:
        return 0

    def get_desktop_window(self) -> int:
        return 0x10010
