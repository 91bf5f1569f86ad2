"""A broker backend in memory: records every call, answers from a small script."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.unit.application.fake_entra import HOST, TENANT, UID, client_info, unsigned_jwt

from tokensmith.broker.base import (
    BrokerAccount,
    BrokerCapabilities,
    BrokerError,
    BrokerStatus,
    BrokerToken,
    InteractiveRequest,
    PopParams,
    TokenRequest,
)
from tokensmith.broker.policy import LINUX_REDIRECT_URI

ADA = BrokerAccount(
    account_id="broker-ada",
    home_account_id=f"{UID}.{TENANT}",
    environment=HOST,
    realm=TENANT,
    username="ada@contoso.example",
    display_name="Ada",
    client_info=client_info(),
)


@dataclass
class FakeBroker:
    """Scripted answers: ``silent_error`` / ``default_error`` / ``interactive_error``
    make those calls fail; ``default_account`` is the device's signed-in account."""

    now: Any
    capabilities: BrokerCapabilities = field(default_factory=BrokerCapabilities)
    name: str = "fake"
    redirect_uri: str = LINUX_REDIRECT_URI
    accounts: dict[str, BrokerAccount] = field(default_factory=lambda: {ADA.account_id: ADA})
    default_account: BrokerAccount | None = ADA
    silent_error: BrokerError | None = None
    default_error: BrokerError | None = None
    interactive_error: BrokerError | None = None
    calls: list[tuple[str, Any]] = field(default_factory=list)
    issued: int = 0

    def _token(self, request: TokenRequest, account: BrokerAccount) -> BrokerToken:
        self.issued += 1
        pop = request.pop is not None
        claims = {
            "aud": request.client_id,
            "iss": f"https://{HOST}/{TENANT}/v2.0",
            "oid": UID,
            "sub": "pairwise",
            "tid": TENANT,
            "preferred_username": account.username,
            "exp": int(self.now()) + 3600,
        }
        return BrokerToken(
            access_token=f"shr-{self.issued}" if pop else f"broker-at-{self.issued}",
            token_type="pop" if pop else "Bearer",
            expires_on=int(self.now()) + 3600,
            scopes=tuple(request.scopes),
            account=account,
            id_token=unsigned_jwt(claims),
        )

    def get_accounts(self, client_id: str, correlation_id: str) -> list[BrokerAccount]:
        self.calls.append(("get_accounts", client_id))
        return list(self.accounts.values())

    def read_account(
        self, client_id: str, account_id: str, correlation_id: str
    ) -> BrokerAccount | None:
        self.calls.append(("read_account", account_id))
        return self.accounts.get(account_id)

    def sign_in_silently(self, request: TokenRequest) -> BrokerToken:
        self.calls.append(("sign_in_silently", request))
        if self.default_error is not None:
            raise self.default_error
        if self.default_account is None:
            raise BrokerError(BrokerStatus.INTERACTION_REQUIRED, "no default account")
        return self._token(request, self.default_account)

    def sign_in_interactively(self, request: InteractiveRequest) -> BrokerToken:
        self.calls.append(("sign_in_interactively", request))
        if self.interactive_error is not None:
            raise self.interactive_error
        return self._token(request, ADA)

    def acquire_token_silently(self, request: TokenRequest) -> BrokerToken:
        self.calls.append(("acquire_token_silently", request))
        if self.silent_error is not None:
            raise self.silent_error
        assert request.account is not None
        return self._token(request, request.account)

    def sign_out(self, client_id: str, account: BrokerAccount, correlation_id: str) -> None:
        self.calls.append(("sign_out", account.account_id))

    def generate_signed_http_request(
        self,
        client_id: str,
        account: BrokerAccount,
        pop: PopParams,
        correlation_id: str,
        access_token: str | None = None,
    ) -> str:
        self.calls.append(("generate_signed_http_request", pop))
        return "shr"

    def close(self) -> None:
        self.calls.append(("close", None))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]
