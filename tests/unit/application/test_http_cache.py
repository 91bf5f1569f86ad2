"""``http_cache=`` (issue 9 item 2, issue 10): the persisted mapping behind the
throttle and the 24-hour memo of discovery and MEX answers, as MSAL keeps them there.
Two processes share a real ``shelve`` file: the second one discovers nothing, and a
throttled managed-identity answer holds for its ``Retry-After``. A broken mapping, or
values of another format, never break an acquisition; keys tokensmith did not write
are never touched; no secret is written."""

from __future__ import annotations

import json
import logging
import os
import pickle
import shelve
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from tests.unit.dropin.confidential_oracle import AUTHORITY, SCOPES, RegionalFake
from tests.unit.protocol.test_wstrust_flow import PASSWORD, TENANT, USER, FakeFederation

import tokensmith
from tokensmith._http_cache import FORMAT, PREFIX
from tokensmith.authority import memo

ROOT = Path(__file__).resolve().parents[3]

_CLIENT_CREDENTIALS = """
import json, shelve, sys
from tests.unit.dropin.confidential_oracle import AUTHORITY, SCOPES, RegionalFake
import importlib
library = importlib.import_module(sys.argv[2] if len(sys.argv) > 2 else "tokensmith")

with shelve.open(sys.argv[1]) as http_cache:
    fake = RegionalFake()
    app = library.ConfidentialClientApplication(
        "cid", client_credential="s3cret", authority=AUTHORITY, http_client=fake,
        http_cache=http_cache,
    )
    result = app.acquire_token_for_client(SCOPES)
    print(json.dumps({"token": "access_token" in result,
                      "sent": [[s.method, s.url.split("/")[-1]] for s in fake.sent]}))
"""

_MANAGED_IDENTITY = """
import json, shelve, sys, time
import tokensmith

class Throttling:
    def __init__(self):
        self.sent = []
    def get(self, url, params=None, headers=None, **kwargs):
        self.sent.append(url)
        return Answer()
    post = get

class Answer:
    status_code = 429
    text = '{"error": "too_many_requests"}'
    headers = {"Retry-After": "120", "Content-Type": "application/json"}

offset = float(sys.argv[2])
with shelve.open(sys.argv[1]) as http_cache:
    fake = Throttling()
    if sys.argv[3:] == ["msal"]:  # the oracle, on its own clock
        import msal
        client = msal.ManagedIdentityClient(
            msal.SystemAssignedManagedIdentity(), http_client=fake, http_cache=http_cache
        )
    else:
        client = tokensmith.ManagedIdentityClient(
            tokensmith.SystemAssignedManagedIdentity(), http_client=fake,
            http_cache=http_cache, clock=lambda: time.time() + offset,
            sleep=lambda seconds: None,
        )
    try:
        outcome = client.acquire_token_for_client(resource="https://vault.azure.net")
        outcome = sorted(outcome)
    except Exception as exc:
        outcome = [type(exc).__name__]
    print(json.dumps({"outcome": outcome, "sent": len(fake.sent)}))
"""


def _process(script: str, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _shelf_values(path: Path) -> dict[str, Any]:
    with shelve.open(str(path)) as shelf:
        return {key: shelf[key] for key in shelf}


def test_a_second_process_sends_no_discovery_request(tmp_path: Path) -> None:
    path = tmp_path / "http_cache"
    with shelve.open(str(path)) as shelf:
        shelf["theirs"] = {"written": "by another library"}
    first = _process(_CLIENT_CREDENTIALS, str(path))
    second = _process(_CLIENT_CREDENTIALS, str(path))
    assert first["token"] and second["token"]
    assert ["GET", "openid-configuration"] in first["sent"]
    assert [method for method, _ in second["sent"]] == ["POST"]  # the token only
    stored = _shelf_values(path)
    assert stored["theirs"] == {"written": "by another library"}
    ours = {k: v for k, v in stored.items() if k != "theirs"}
    assert ours and all(k.startswith(f"{PREFIX}discovery:") for k in ours)
    assert all(v[0] == FORMAT and v[1] > time.time() + 23 * 3600 for v in ours.values())
    dump = pickle.dumps(stored)
    assert b"s3cret" not in dump and b"at-1" not in dump


def test_msal_sends_the_same_in_its_second_process(tmp_path: Path) -> None:
    path = str(tmp_path / "msal_cache")
    first = _process(_CLIENT_CREDENTIALS, path, "msal")
    second = _process(_CLIENT_CREDENTIALS, path, "msal")
    assert ["GET", "openid-configuration"] in first["sent"]
    assert [method for method, _ in second["sent"]] == ["POST"]


def test_a_throttled_managed_identity_answer_holds_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "mi_cache")
    env = {"IDENTITY_ENDPOINT": "http://127.0.0.1:9/msi/token", "IDENTITY_HEADER": "h"}
    first = _process(_MANAGED_IDENTITY, path, "0", env=env)
    assert first["sent"] >= 1
    second = _process(_MANAGED_IDENTITY, path, "60", env=env)
    assert second == {"outcome": first["outcome"], "sent": 0}  # within its Retry-After
    later = _process(_MANAGED_IDENTITY, path, "121", env=env)
    assert later["sent"] >= 1  # the Retry-After is over
    keys = list(_shelf_values(Path(path)))
    assert keys and all(k.startswith(f"{PREFIX}throttle:") for k in keys)
    theirs = str(tmp_path / "msal_mi_cache")
    msal_runs = [_process(_MANAGED_IDENTITY, theirs, "0", "msal", env=env) for _ in range(2)]
    assert msal_runs == [first, second]  # the same answers and traffic as MSAL 1.39


# -- in one process (the process-wide memo cleared, as a new process starts) -------------


def _confidential(http_cache: Any, fake: RegionalFake | None = None) -> Any:
    return tokensmith.ConfidentialClientApplication(
        "cid",
        client_credential="s3cret",
        authority=AUTHORITY,
        http_client=fake or RegionalFake(),
        http_cache=http_cache,
        sleep=lambda seconds: None,  # a retry's wait (Retry-After) costs no time here
    )


def _discoveries(fake: RegionalFake) -> int:
    return sum(1 for s in fake.sent if s.method == "GET")


class Broken(dict):  # type: ignore[type-arg]
    """A mapping whose every read and write fails."""

    def get(self, key: Any, default: Any = None) -> Any:
        raise OSError("disk on fire")

    def __setitem__(self, key: Any, value: Any) -> None:
        raise OSError("disk on fire")

    def __delitem__(self, key: Any) -> None:
        raise OSError("disk on fire")


def test_a_broken_mapping_never_breaks_an_acquisition(caplog: pytest.LogCaptureFixture) -> None:
    memo.clear()
    fake = RegionalFake()
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        result = _confidential(Broken(), fake).acquire_token_for_client(SCOPES)
    assert "access_token" in result
    assert _discoveries(fake) >= 1
    assert "http_cache: reading failed (OSError)" in caplog.text
    assert "http_cache: writing failed (OSError)" in caplog.text


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda value: "a string of an older version",
        lambda value: (FORMAT + 1, value[1], value[2]),  # a newer format
        lambda value: (FORMAT, value[1], {"raw": "{not json"}),
        lambda value: (FORMAT, value[1], {**value[2], "token_endpoint": 5}),
        lambda value: (FORMAT, time.time() - 1, value[2]),  # expired
    ],
    ids=["not a tuple", "other format", "bad document", "bad field", "expired"],
)
def test_an_unreadable_or_expired_entry_is_a_miss_and_is_replaced(corrupt: Any) -> None:
    http_cache: dict[str, Any] = {"theirs": 1, "tokensmith-lookalike": 2}
    memo.clear()
    _confidential(http_cache).acquire_token_for_client(SCOPES)
    ours = [k for k in http_cache if k.startswith(PREFIX)]
    assert ours
    for key in ours:
        http_cache[key] = corrupt(http_cache[key])
    memo.clear()
    fake = RegionalFake()
    assert "access_token" in _confidential(http_cache, fake).acquire_token_for_client(SCOPES)
    assert _discoveries(fake) >= 1  # discovered again
    assert http_cache["theirs"] == 1 and http_cache["tokensmith-lookalike"] == 2
    assert all(http_cache[k][0] == FORMAT and http_cache[k][1] > time.time() for k in ours)
    memo.clear()
    again = RegionalFake()
    _confidential(http_cache, again).acquire_token_for_client(SCOPES)
    assert _discoveries(again) == 0  # the replaced entries serve


def test_a_throttled_token_endpoint_holds_for_a_new_application() -> None:
    class Throttled(RegionalFake):
        def post(self, url: str, *args: Any, **kwargs: Any) -> Any:
            from tests.unit.dropin.surface_oracle import Response

            from tokensmith.transport.base import HttpResponse

            self._record("POST", url, None, kwargs.get("data"), None)
            body = json.dumps({"error": "temporarily_unavailable"})
            return Response(HttpResponse(429, body, {"Retry-After": "30"}))

    http_cache: dict[str, Any] = {}
    first, second = Throttled(), Throttled()
    one = _confidential(http_cache, first).acquire_token_for_client(SCOPES)
    two = _confidential(http_cache, second).acquire_token_for_client(SCOPES)
    assert one["error"] == two["error"] == "temporarily_unavailable"
    assert first.token_posts() and not second.token_posts()
    assert any(k.startswith(f"{PREFIX}throttle:") for k in http_cache)
    assert b"s3cret" not in pickle.dumps(http_cache)


def test_the_mex_document_is_fetched_once_and_persisted() -> None:
    memo.clear()
    http_cache: dict[str, Any] = {}
    fed = FakeFederation()

    def sign_in(cache: Any) -> Any:
        app = tokensmith.PublicClientApplication(
            "pca-client",
            authority=f"https://login.microsoftonline.com/{TENANT}",
            transport=fed.transport,
            http_cache=cache,
        )
        with pytest.warns(DeprecationWarning):
            return app.acquire_token_by_username_password(USER, PASSWORD, ["User.Read"])

    for _ in range(2):
        assert sign_in(http_cache)["access_token"]
    assert len(fed.sent("/mex")) == 1  # remembered in the process
    memo.clear()  # as a new process
    assert sign_in(http_cache)["access_token"]
    assert len(fed.sent("/mex")) == 1  # remembered in the http_cache
    assert any(k.startswith(f"{PREFIX}mex:") for k in http_cache)
    memo.clear()
    assert sign_in(None)["access_token"]
    assert len(fed.sent("/mex")) == 2  # without one: fetched again
    assert PASSWORD.encode() not in pickle.dumps(http_cache)


def test_the_first_write_of_a_process_drops_its_own_expired_entries_only() -> None:
    stale = f"{PREFIX}throttle:" + "0" * 64
    unreadable = f"{PREFIX}discovery:" + "1" * 64
    http_cache: dict[str, Any] = {
        stale: (FORMAT, time.time() - 5, (429, "{}", {})),
        unreadable: "an older version's value",
        "theirs": (FORMAT, time.time() - 5, "not ours to judge"),
    }
    memo.clear()
    _confidential(http_cache).acquire_token_for_client(SCOPES)
    assert stale not in http_cache and unreadable not in http_cache
    assert http_cache["theirs"][2] == "not ours to judge"
    assert [k for k in http_cache if k.startswith(PREFIX)]  # what this process wrote
