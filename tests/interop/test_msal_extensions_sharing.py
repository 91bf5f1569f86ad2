"""msal-extensions 1.3's PersistedTokenCache + FilePersistence under tokensmith apps.

The cache reloads the file in ``search()`` and writes it in ``modify()``; tokensmith
apps must read through ``search`` and write through ``add``/``modify`` for that to
work (tokensmith.cache.hooks). Both ways msal-extensions gets its base class are
covered: imported as usual it subclasses the real ``msal.SerializableTokenCache`` (a
foreign cache to tokensmith); imported after ``sys.modules["msal"] = tokensmith`` (as
code running azure-identity on tokensmith does) it subclasses tokensmith's.

Against the dev IdP on loopback; files under tmp_path; other processes through
``sys.executable``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msal
import msal_extensions
import pytest

import tokensmith
import tokensmith.aio
from tokensmith.cache.hooks import HookedCache, cache_access
from tokensmith.devidp import DEFAULT_CONFIG_TOML, DevIdP, parse_config
from tokensmith.devidp._toml import loads

CONTOSO = "8d2a1f3e-6c4b-4a59-9e7d-2b1c0a9f8e7d"
DESKTOP = "3c9a7e51-2f4d-4b8a-9e6c-1d0f5a7b3c29"
ADA = "ada@contoso.onmicrosoft.com"
PASSWORD = "Passw0rd!"
SCOPES = ["User.Read"]

pytestmark = pytest.mark.filterwarnings("ignore:The username/password flow is deprecated")


@pytest.fixture(scope="module")
def idp() -> Iterator[DevIdP]:
    with DevIdP(parse_config(loads(DEFAULT_CONFIG_TOML))) as server:
        yield server


def _persisted(path: Path) -> Any:
    return msal_extensions.PersistedTokenCache(msal_extensions.FilePersistence(str(path)))


def _app(idp: DevIdP, cache: Any) -> tokensmith.PublicClientApplication:
    return tokensmith.PublicClientApplication(
        DESKTOP, authority=idp.authority(CONTOSO), verify=str(idp.ca_path), token_cache=cache
    )


def _silent(app: Any) -> dict[str, Any]:
    [account] = app.get_accounts()
    result = app.acquire_token_silent(SCOPES, account)
    assert result is not None and "access_token" in result, result
    return dict(result)


def test_the_usual_import_builds_on_the_real_msal() -> None:
    assert msal_extensions.PersistedTokenCache.__mro__[1] is msal.SerializableTokenCache


def test_two_apps_in_one_process_share_one_file(idp: DevIdP, tmp_path: Path) -> None:
    path = tmp_path / "msal.cache"
    first, second = _app(idp, _persisted(path)), _app(idp, _persisted(path))
    assert isinstance(cache_access(first.token_cache), HookedCache)
    signed_in = first.acquire_token_by_username_password(ADA, PASSWORD, SCOPES)
    assert "access_token" in signed_in, signed_in
    on_disk = json.loads(path.read_text())
    assert signed_in["access_token"] in {e["secret"] for e in on_disk["AccessToken"].values()}

    seen = _silent(second)  # it never signed in: the token comes from the file
    assert seen["token_source"] == "cache"
    assert seen["access_token"] == signed_in["access_token"]

    [account] = second.get_accounts()
    refreshed = second.acquire_token_silent(SCOPES, account, force_refresh=True)
    assert refreshed is not None and refreshed["token_source"] == "identity_provider"
    assert refreshed["access_token"] != signed_in["access_token"]
    again = _silent(first)  # the first app sees what the second wrote
    assert again["access_token"] == refreshed["access_token"]
    assert again["token_source"] == "cache"
    assert len(json.loads(path.read_text())["RefreshToken"]) == 1


def test_msal_reads_what_a_tokensmith_app_wrote_and_back(
    idp: DevIdP, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(idp.ca_path))  # requests prefers it to verify
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    path = tmp_path / "msal.cache"
    ours = _app(idp, _persisted(path))
    signed_in = ours.acquire_token_by_username_password(ADA, PASSWORD, SCOPES)
    theirs = msal.PublicClientApplication(
        DESKTOP,
        authority=idp.authority(CONTOSO),
        token_cache=_persisted(path),
        instance_discovery=False,
        verify=str(idp.ca_path),
    )
    try:
        [account] = theirs.get_accounts()
        got = theirs.acquire_token_silent(SCOPES, account)
        assert got is not None and got["access_token"] == signed_in["access_token"]
        fresh = theirs.acquire_token_silent(SCOPES, account, force_refresh=True)
        assert fresh is not None and fresh["token_source"] == "identity_provider"
    finally:
        theirs.http_client.close()
    assert _silent(ours)["access_token"] == fresh["access_token"]


def test_an_async_app_reads_what_a_sync_app_wrote(idp: DevIdP, tmp_path: Path) -> None:
    path = tmp_path / "msal.cache"
    signed_in = _app(idp, _persisted(path)).acquire_token_by_username_password(
        ADA, PASSWORD, SCOPES
    )

    async def main() -> Any:
        async with tokensmith.aio.PublicClientApplication(
            DESKTOP,
            authority=idp.authority(CONTOSO),
            verify=str(idp.ca_path),
            token_cache=_persisted(path),
        ) as app:
            [account] = await app.get_accounts()
            return await app.acquire_token_silent(SCOPES, account)

    got = asyncio.run(main())
    assert got["token_source"] == "cache" and got["access_token"] == signed_in["access_token"]


def test_sign_out_in_one_app_is_seen_by_the_other(idp: DevIdP, tmp_path: Path) -> None:
    path = tmp_path / "msal.cache"
    first, second = _app(idp, _persisted(path)), _app(idp, _persisted(path))
    first.acquire_token_by_username_password(ADA, PASSWORD, SCOPES)
    [account] = second.get_accounts()
    second.remove_account(account)
    assert first.get_accounts() == []
    assert json.loads(path.read_text())["AccessToken"] == {}


_PROCESS = """
import json, sys, warnings
warnings.simplefilter("ignore", DeprecationWarning)
base, path, authority, ca, step = sys.argv[1:6]
import tokensmith
if base == "tokensmith":
    sys.modules["msal"] = tokensmith  # what code running azure-identity on tokensmith does
import msal_extensions
expected = tokensmith.SerializableTokenCache if base == "tokensmith" else None
if expected is not None:
    assert msal_extensions.PersistedTokenCache.__mro__[1] is expected
else:
    assert msal_extensions.PersistedTokenCache.__mro__[1].__module__ == "msal.token_cache"
cache = msal_extensions.PersistedTokenCache(msal_extensions.FilePersistence(path))
app = tokensmith.PublicClientApplication(
    "%(client)s", authority=authority, verify=ca, token_cache=cache)
if step == "sign-in":
    result = app.acquire_token_by_username_password("%(user)s", "%(password)s", ["User.Read"])
else:
    accounts = app.get_accounts()
    result = app.acquire_token_silent(["User.Read"], accounts[0]) if accounts else None
    if step == "refresh" and result:
        result = app.acquire_token_silent(["User.Read"], accounts[0], force_refresh=True)
print(json.dumps({k: (result or {}).get(k) for k in ("access_token", "token_source", "error")}))
""" % {"client": DESKTOP, "user": ADA, "password": PASSWORD}  # noqa: UP031


def _where(idp: DevIdP) -> tuple[str, str]:
    return idp.authority(CONTOSO), str(idp.ca_path)


def _run(base: str, path: Path, idp: DevIdP, step: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _PROCESS, base, str(path), *_where(idp), step],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


@pytest.mark.parametrize("base", ["msal", "tokensmith"])
def test_two_processes_share_one_file(idp: DevIdP, tmp_path: Path, base: str) -> None:
    path = tmp_path / "msal.cache"
    signed_in = _run(base, path, idp, "sign-in")
    assert signed_in["access_token"] and signed_in["error"] is None, signed_in
    read = _run(base, path, idp, "silent")
    assert read == {**signed_in, "token_source": "cache"}
    refreshed = _run(base, path, idp, "refresh")
    assert refreshed["token_source"] == "identity_provider"
    # this process (msal-extensions on the real msal) sees the other process's write
    assert _silent(_app(idp, _persisted(path)))["access_token"] == refreshed["access_token"]


_AZURE_IDENTITY = """
import sys, tokensmith
sys.modules["msal"] = tokensmith
import warnings
warnings.simplefilter("ignore")
from azure.identity import (
    AuthenticationRecord, InteractiveBrowserCredential, TokenCachePersistenceOptions,
    UsernamePasswordCredential)
step, base_url, tenant = sys.argv[1:4]
options = TokenCachePersistenceOptions(allow_unencrypted_storage=True, name="cachehooks")
if step == "authenticate":
    credential = UsernamePasswordCredential(
        "%(client)s", "%(user)s", "%(password)s", authority=base_url, tenant_id=tenant,
        disable_instance_discovery=True, cache_persistence_options=options)
    record = credential.authenticate(scopes=["User.Read"])
    token = credential.get_token("User.Read")
    print(record.serialize())
    print(token.token)
else:
    record = AuthenticationRecord.deserialize(sys.stdin.read())
    credential = InteractiveBrowserCredential(
        authentication_record=record, disable_automatic_authentication=True,
        disable_instance_discovery=True, cache_persistence_options=options)
    print(credential.get_token("User.Read").token)
    print(type(credential._get_app().token_cache).__mro__[1].__module__)
""" % {"client": DESKTOP, "user": ADA, "password": PASSWORD}  # noqa: UP031


def test_azure_identity_authentication_record_in_a_second_process(
    idp: DevIdP, tmp_path: Path
) -> None:
    """azure-identity's documented pattern on tokensmith: authenticate() once, keep the
    AuthenticationRecord; a second credential (here in another process) built from it
    with the same TokenCachePersistenceOptions gets a token silently (raising
    AuthenticationRequiredError otherwise, as disable_automatic_authentication asks)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "DBUS_"))}
    env.update(idp.trust_environment(), HOME=str(tmp_path))

    def run(step: str, stdin: str = "") -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", _AZURE_IDENTITY, step, idp.base_url, CONTOSO],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.strip().splitlines()

    record, token = run("authenticate")
    assert json.loads(record)["username"] == ADA
    cache_file = tmp_path / ".IdentityService" / "cachehooks.nocae"
    assert token in cache_file.read_text()  # plaintext, as allow_unencrypted_storage allows
    again, base_module = run("silent", record)
    assert again == token
    assert base_module == "tokensmith.cache.token_cache"
