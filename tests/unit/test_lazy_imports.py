"""A process answered from its cache loads only what that needs (docs/performance.md,
"CLI process"): no grant it did not use, no broker, no DPoP, no OpenSSL, no email
parser, no ``dataclasses`` or ``inspect`` (docs/architecture.md, "Import cost").
Each check runs in a fresh interpreter, so what the test process imported
before does not count."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tokensmith import PublicClientApplication
from tokensmith._lazy import LazyModule, lazy_module
from tokensmith.protocol import device_code

ROOT = Path(__file__).resolve().parents[2]

NOT_FOR_A_CACHE_HIT = (
    "tokensmith.broker.policy",
    "tokensmith.broker.base",
    "tokensmith.engine.broker",
    "tokensmith.engine.broker_signin",
    "tokensmith.engine.interactive",
    "tokensmith.engine.user_flows",
    "tokensmith.engine.auth_code",
    "tokensmith.engine.token_call",
    "tokensmith.engine.on_behalf_of",
    "tokensmith.protocol.dpop",
    "tokensmith.protocol.dpop_client",
    "tokensmith.protocol.client_certificate",
    "tokensmith.protocol.refresh_token",
    "tokensmith.drivers.sync",
    "tokensmith.authority.discovery",
    "tokensmith.authority.resolve",
    "tokensmith.authority.memo",
    "tokensmith.protocol._wire",
    "tokensmith._http_cache",
    "tokensmith.transport.resilient",
    "tokensmith.cache.sign_out",
    "asyncio",
    "dataclasses",
    "inspect",
    "logging",
    "hashlib",
    "email.utils",
    "uuid",
    "ssl",
    "socket",
    "httpx",
    "urllib.parse",
    "ipaddress",
    "base64",
)

_CACHE_HIT = """
import json, sys, time
compiled = []
def _audit(event, args):
    # a string compiled at run time (a forward reference: typing compiles it, and the
    # first compile() sets up the AST types, ~10 million instructions), except the
    # __new__ every named tuple evaluates
    if event == "compile" and args[1] == "<string>" and not args[0].startswith(b"lambda _cls"):
        compiled.append(args[0])
sys.addaudithook(_audit)
from tokensmith import {cls}, SerializableTokenCache
cache = SerializableTokenCache()
{fill}
app = {cls}("cid", {credential}authority="https://login.microsoftonline.com/5f0c7a1e-2b3d-4c5e-8f90-a1b2c3d4e5f6",
            token_cache=cache, instance_discovery=False, http_client=object())
{call}
assert result and result["token_source"] == "cache", result
assert not compiled, compiled
print(json.dumps(sorted(sys.modules)))
"""

_ENDPOINT = (
    "https://login.microsoftonline.com/5f0c7a1e-2b3d-4c5e-8f90-a1b2c3d4e5f6/oauth2/v2.0/token"
)
_USER_EVENT = {
    "client_id": "cid",
    "scope": ["User.Read"],
    "token_endpoint": _ENDPOINT,
    "response": {
        "access_token": "at",
        "expires_in": 3600,
        "token_type": "Bearer",
        "refresh_token": "rt",
        "scope": "User.Read",
        "client_info": "eyJ1aWQiOiJ1IiwidXRpZCI6InQifQ",
    },
}
_APP_EVENT = {
    "client_id": "cid",
    "scope": ["api/.default"],
    "token_endpoint": _ENDPOINT,
    "response": {"access_token": "at", "expires_in": 3600, "token_type": "Bearer"},
}


def _fill(event: dict[str, object]) -> str:
    """The script line that loads a cache holding ``event``'s tokens (a process that
    finds its token loads a cache: it adds none)."""
    from tokensmith import SerializableTokenCache

    cache = SerializableTokenCache()
    cache.add(event)
    return f"cache.deserialize({cache.serialize()!r})"


def _modules_after(script: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    ("cls", "credential", "event", "call"),
    [
        (
            "PublicClientApplication",
            "",
            _USER_EVENT,
            "result = app.acquire_token_silent(['User.Read'], app.get_accounts()[0])",
        ),
        (
            "ConfidentialClientApplication",
            "client_credential='secret', ",
            _APP_EVENT,
            "result = app.acquire_token_for_client(['api/.default'])",
        ),
    ],
    ids=["public-silent-hit", "client-credentials-hit"],
)
def test_a_cache_hit_loads_no_other_feature(
    cls: str, credential: str, event: dict[str, object], call: str
) -> None:
    script = _CACHE_HIT.format(cls=cls, credential=credential, fill=_fill(event), call=call)
    loaded = _modules_after(script)
    assert "tokensmith.engine.silent" in loaded or "tokensmith.engine.client_credentials" in loaded
    assert sorted(loaded.intersection(NOT_FOR_A_CACHE_HIT)) == []


def test_a_feature_loads_when_first_used() -> None:
    loaded = _modules_after(
        """
        import json, sys
        from tokensmith import PublicClientApplication
        app = PublicClientApplication("cid", authority="https://login.microsoftonline.com/5f0c7a1e-2b3d-4c5e-8f90-a1b2c3d4e5f6",
                                      instance_discovery=False, http_client=object())
        before = "tokensmith.engine.user_flows" in sys.modules
        try:
            app.acquire_token_by_refresh_token("rt", scopes="not a list")
        except ValueError:
            pass
        assert not before and "tokensmith.engine.user_flows" in sys.modules
        print(json.dumps(sorted(sys.modules)))
        """
    )
    assert "tokensmith.engine.user_flows" in loaded


def test_device_flow_correlation_key_is_the_protocol_one() -> None:
    assert PublicClientApplication.DEVICE_FLOW_CORRELATION_ID == device_code.CORRELATION_ID_KEY


def test_lazy_module_reads_the_module_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import tokensmith.protocol.scopes as scopes

    lazy = lazy_module("tokensmith.protocol.scopes")
    assert isinstance(lazy, LazyModule)
    assert lazy.scope_string is scopes.scope_string
    monkeypatch.setattr(scopes, "scope_string", lambda *a: "patched")
    assert lazy.scope_string(["x"]) == "patched"  # a patch is seen: nothing is copied
    assert "loaded" in repr(lazy)


def test_lazy_module_missing_attribute_is_an_attribute_error() -> None:
    lazy = lazy_module("tokensmith.protocol.scopes")
    with pytest.raises(AttributeError):
        _ = lazy.no_such_name


def test_logging_loads_only_when_the_library_logs() -> None:
    state = tokensmith_state_with_one_user()
    loaded = _modules_after(
        f"""
        import json, sys
        from tokensmith import PublicClientApplication, SerializableTokenCache
        cache = SerializableTokenCache()
        cache.deserialize({state!r})
        app = PublicClientApplication(
            "cid", authority="https://login.microsoftonline.com/5f0c7a1e-2b3d-4c5e-8f90-a1b2c3d4e5f6",
            token_cache=cache, instance_discovery=False, http_client=object())
        result = app.acquire_token_silent(["User.Read"], app.get_accounts()[0])
        assert result["token_source"] == "cache", result
        assert "logging" not in sys.modules
        import logging
        seen = []
        class Keep(logging.Handler):
            def emit(self, record): seen.append(record.getMessage())
        logging.getLogger("tokensmith").addHandler(Keep())
        logging.getLogger("tokensmith").setLevel(logging.DEBUG)
        cache.add({{"client_id": "cid", "scope": ["Mail.Read"], "response": {{"access_token": "at2",
                   "expires_in": 60, "token_type": "Bearer"}}}})
        assert any(m.startswith("token cache event") for m in seen), seen
        names = [type(h).__name__ for h in logging.getLogger("tokensmith").handlers]
        assert names.count("NullHandler") == 1 and "Keep" in names, names
        print(json.dumps(sorted(sys.modules)))
        """
    )
    assert "logging" in loaded


def tokensmith_state_with_one_user() -> str:
    from tokensmith import SerializableTokenCache

    cache = SerializableTokenCache()
    cache.add(_USER_EVENT)
    return cache.serialize()


def test_a_sqlite_cache_hit_loads_no_pathlib(tmp_path: Path) -> None:
    import json as json_module

    from tokensmith.stores import SqliteStore

    path = tmp_path / "cache.db"
    store = SqliteStore(path)
    store.replace_all(json_module.loads(tokensmith_state_with_one_user()))
    store.close()
    loaded = _modules_after(
        f"""
        import json, sys
        from tokensmith import PublicClientApplication
        from tokensmith.stores import PersistentTokenCache, SqliteStore
        store = SqliteStore({str(path)!r})
        app = PublicClientApplication(
            "cid", authority="https://login.microsoftonline.com/5f0c7a1e-2b3d-4c5e-8f90-a1b2c3d4e5f6",
            token_cache=PersistentTokenCache(store), instance_discovery=False, http_client=object())
        result = app.acquire_token_silent(["User.Read"], app.get_accounts()[0])
        assert result["token_source"] == "cache", result
        print(json.dumps(sorted(sys.modules)))
        """
    )
    assert "tokensmith.stores.sqlite" in loaded
    assert sorted(loaded.intersection((*NOT_FOR_A_CACHE_HIT, "pathlib"))) == []


def test_sqlite_store_path_is_a_path_with_home_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tokensmith.stores import SqliteStore

    monkeypatch.setenv("HOME", str(tmp_path))
    store = SqliteStore("~/tokens/cache.db")
    try:
        assert store.path == tmp_path / "tokens" / "cache.db"
        assert (tmp_path / "tokens" / "cache.db").is_file()
        assert ((tmp_path / "tokens").stat().st_mode & 0o777) == 0o700
        assert str(tmp_path) in repr(store)
    finally:
        store.close()
