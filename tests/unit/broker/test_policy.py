"""MSAL's opt-in and fallback rules (tokensmith.broker.policy)."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pytest
from tests.unit.broker.fake_backend import FakeBroker

from tokensmith.authority import AuthorityKind
from tokensmith.broker import policy
from tokensmith.broker.policy import Platform, choose_broker, opted_in

WIN = Platform("win32")
MAC_ARM = Platform("darwin", machine="arm64")
MAC_INTEL = Platform("darwin", machine="x86_64")
LINUX = Platform("linux", machine="x86_64")
WSL = Platform("linux", wsl=True, machine="x86_64")


@pytest.mark.parametrize(
    ("where", "flag", "expected"),
    [
        (WIN, "windows", True),
        (WIN, "mac", False),
        (WIN, "linux", False),
        (MAC_ARM, "mac", True),
        (MAC_ARM, "windows", False),
        (LINUX, "linux", True),
        (LINUX, "wsl", False),
        (WSL, "wsl", True),
        (WSL, "linux", True),  # Linux includes WSL, as in MSAL
        (LINUX, "windows", False),
    ],
)
def test_the_flag_of_the_running_platform_opts_in(
    where: Platform, flag: str, expected: bool
) -> None:
    assert opted_in(where, **{flag: True}) is expected


def test_allow_broker_means_windows_and_warns() -> None:
    with pytest.warns(DeprecationWarning, match="allow_broker is deprecated"):
        assert opted_in(WIN, allow_broker=True) is True
    with pytest.warns(DeprecationWarning):
        assert opted_in(LINUX, allow_broker=True) is False


@pytest.mark.parametrize(
    "kind",
    [
        AuthorityKind.ADFS,
        AuthorityKind.B2C,
        AuthorityKind.CIAM,
        AuthorityKind.DSTS,
        AuthorityKind.OIDC,
    ],
)
def test_authorities_no_broker_serves_bypass_it(kind: AuthorityKind) -> None:
    fake = FakeBroker(lambda: 0)
    assert choose_broker(kind, True, LINUX, fake) is None


def test_entra_authorities_get_the_broker() -> None:
    fake = FakeBroker(lambda: 0)
    session = choose_broker(AuthorityKind.AAD, True, LINUX, fake)
    assert session is not None and session.backend is fake


def test_not_opted_in_loads_nothing() -> None:
    assert choose_broker(AuthorityKind.AAD, False, LINUX, "no-such-backend") is None


def test_intel_macs_fall_back_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        assert choose_broker(AuthorityKind.AAD, True, MAC_INTEL, FakeBroker(lambda: 0)) is None
    assert "Apple Silicon" in caplog.text


def test_a_missing_package_is_an_import_error_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pymsalruntime", None)  # import fails: ImportError
    with pytest.raises(ImportError, match=r"tokensmith\[broker\]"):
        choose_broker(AuthorityKind.AAD, True, WIN, "pymsalruntime")


def test_a_missing_jeepney_is_an_import_error_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "jeepney", None)
    monkeypatch.delitem(sys.modules, "tokensmith.broker.dbus_client", raising=False)
    with pytest.raises(ImportError, match=r"tokensmith\[broker\]"):
        choose_broker(AuthorityKind.AAD, True, LINUX, "dbus")


def test_a_broker_that_cannot_start_is_deactivated_silently(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Any
) -> None:
    # the D-Bus client's start: no session bus to connect to
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    with caplog.at_level(logging.WARNING, logger="tokensmith"):
        assert choose_broker(AuthorityKind.AAD, True, LINUX, "dbus") is None
    assert "fallback to non-broker" in caplog.text


def test_an_unknown_backend_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="broker_backend"):
        choose_broker(AuthorityKind.AAD, True, LINUX, "carrier-pigeon")


def test_redirect_uris_per_platform() -> None:
    assert policy.broker_redirect_uri("darwin") == "msauth.com.msauth.unsignedapp://auth"
    assert policy.broker_redirect_uri("win32") == policy.LINUX_REDIRECT_URI
    assert policy.broker_redirect_uri("linux") == (
        "https://login.microsoftonline.com/common/oauth2/nativeclient"
    )
    assert policy.redirect_uris_to_register("abc")[0] == (
        "ms-appx-web://Microsoft.AAD.BrokerPlugin/abc"
    )


def test_import_tokensmith_loads_no_broker_code_and_no_opt_in_loads_no_backend() -> None:
    import subprocess

    code = (
        "import sys, tokensmith\n"
        "assert not [m for m in sys.modules if 'broker' in m], 'import'\n"
        "tokensmith.PublicClientApplication('c')\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('jeepney', 'pymsalruntime')\n"
        "          or m in ('tokensmith.broker.dbus_client', 'tokensmith.broker.runtime')]\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("raised", "outcome"),
    [
        ("OSError('libwebkit2gtk-4.1.so.0: cannot open shared object file')", "deactivated"),
        ("RuntimeError('Broker cannot be initialized for MSALRuntime')", "deactivated"),
        ("ImportError('broken', name='pymsalruntime')", "import error"),
    ],
)
def test_how_a_pymsalruntime_that_fails_to_import_is_taken(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, raised: str, outcome: str
) -> None:
    package = tmp_path / "pymsalruntime"
    package.mkdir()
    (package / "__init__.py").write_text(f"raise {raised}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "pymsalruntime", raising=False)
    if outcome == "import error":
        with pytest.raises(ImportError, match=r"tokensmith\[broker\]"):
            choose_broker(AuthorityKind.AAD, True, WIN, "pymsalruntime")
    else:  # MSAL 1.39 lets the OSError escape; tokensmith deactivates the broker
        assert choose_broker(AuthorityKind.AAD, True, WIN, "pymsalruntime") is None


def test_account_and_request_reprs_name_no_person_and_no_secret() -> None:
    from tests.unit.broker.fake_backend import ADA

    from tokensmith.broker.base import TokenRequest

    request = TokenRequest(
        "c", "a", ("s",), "r", "id", account=ADA, claims="{}", extra={"MSALRuntime_Password": "pw"}
    )
    text = repr(request)
    assert ADA.username and ADA.username not in text and "pw" not in text
