"""Configuration loading and the ``tokensmith dev-idp`` command line."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tokensmith.cli import main
from tokensmith.devidp import DEFAULT_CONFIG_TOML, DevIdP, load_config, parse_config
from tokensmith.devidp._toml import loads
from tokensmith.errors import ConfigurationError

_MINIMAL = """
inherit_defaults = false

[[tenants]]
id = "11111111-2222-4333-8444-555555555555"
domains = ["tiny.example"]

[[users]]
username = "solo@tiny.example"
password = "pw"

[[apps]]
client_id = "66666666-7777-4888-9999-000000000000"
redirect_uris = ["http://localhost"]

[[faults]]
kind = "authorization_pending"
count = 3
"""


def test_the_default_config_is_complete() -> None:
    config = parse_config(loads(DEFAULT_CONFIG_TOML))
    assert {t.name for t in config.tenants} == {"Contoso", "Fabrikam"}
    assert any(a.family_id for a in config.apps) and any(not a.public for a in config.apps)
    assert any(u.mfa_required for u in config.users)
    assert any(u.consent_required for u in config.users)


def test_a_minimal_file_with_faults(tmp_path: Path) -> None:
    path = tmp_path / "idp.toml"
    path.write_text(_MINIMAL, encoding="utf-8")
    config = load_config(path)
    assert config.user("SOLO@tiny.example") is not None  # UPNs are case-insensitive
    assert config.tenant("tiny.example") is config.tenants[0]
    idp = DevIdP(config)
    assert [(f.kind, f.remaining) for f in idp.faults.armed()] == [("authorization_pending", 3)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[[apps]]", "[[apps]]\ncolour = 'red'"), "unknown key"),
        (('kind = "authorization_pending"', 'kind = "gremlins"'), "unknown fault"),
        (('password = "pw"', 'password = ""'), "'password' must be a non-empty string"),
        (('id = "1111', 'id = "x1111'), "is not a GUID"),
        (('[[users]]', '[settings]\ndevice_code_auto_complete_user = "nobody@x"\n[[users]]'),
         "is not a user"),
    ],
)  # fmt: skip
def test_config_errors_name_the_problem(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    path = tmp_path / "idp.toml"
    path.write_text(_MINIMAL.replace(*change, 1), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=message):
        load_config(path)


def test_a_partial_file_merges_over_the_built_in_config(tmp_path: Path) -> None:
    path = tmp_path / "idp.toml"
    path.write_text(
        "[settings]\naccess_token_lifetime = 60\n\n"
        '[[users]]\nusername = "ADA@contoso.onmicrosoft.com"\nmfa_required = true\n\n'
        '[[users]]\nusername = "new@contoso.example"\npassword = "pw"\n'
        'tenant = "contoso.example"\n',
        encoding="utf-8",
    )
    config = load_config(path)
    default = parse_config(loads(DEFAULT_CONFIG_TOML))
    assert config.settings.access_token_lifetime == 60
    assert config.settings.device_code_expires_in == default.settings.device_code_expires_in
    ada = config.user("ada@contoso.onmicrosoft.com")
    assert ada is not None and ada.mfa_required and ada.password == "Passw0rd!"
    assert ada.name == "Ada Lovelace"  # the built-in entry, with one key changed
    new = config.user("new@contoso.example")
    contoso = config.tenant("contoso.example")
    assert new is not None and contoso is not None and new.tenant == contoso.id
    assert len(config.users) == len(default.users) + 1 and config.apps == default.apps


def test_errors_name_the_file_and_the_real_problem(tmp_path: Path) -> None:
    path = tmp_path / "idp.toml"
    path.write_text("[settings]\nid_token_lifetime = 'soon'\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"dev-idp config {path.absolute()}: settings:")
    assert "'id_token_lifetime' must be a non-negative integer" in message
    path.write_text('[[users]]\nusername = "x@y"\npassword = "p"\ntenant = "nowhere"\n')
    with pytest.raises(ConfigurationError, match=r"tenant 'nowhere' is not configured \(tenants:"):
        load_config(path)
    path.write_text("settings = 5\n")
    with pytest.raises(ConfigurationError, match=r"'settings' must be a table \[settings\]"):
        load_config(path)


def test_a_file_that_is_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "idp.toml"
    path.write_text("[[tenants", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_config(path)


def test_print_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dev-idp", "--print-config"]) == 0
    assert capsys.readouterr().out == DEFAULT_CONFIG_TOML


def test_cli_reports_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dev-idp", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "cannot read dev-idp config" in capsys.readouterr().err


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tokensmith.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[[tenants", "is not valid TOML"),
        (b"[settings]\nx = 1\n[settings]\n", "is not valid TOML"),
        (b"title = '\xff\xfe'\n", "is not UTF-8 text"),
        (b"[[tenants]]\nid = 5\n", "dev-idp"),
        (None, "cannot read dev-idp config"),
        (b"inherit_defaults = false\n", "needs at least one [[tenants]] entry"),
        (b"[settings]\ndevice_code_interval = -1\n", "'device_code_interval' must be a non"),
    ],
)
def test_cli_bad_config_is_one_line_and_status_2(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "idp.toml"
    if content is not None:
        path.write_bytes(content)
    done = _cli("dev-idp", "--config", str(path), "--port", "0", "--state-dir", str(tmp_path))
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert done.stderr.startswith("tokensmith dev-idp: ") and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_cli_config_that_is_a_directory(tmp_path: Path) -> None:
    done = _cli("dev-idp", "--config", str(tmp_path), "--state-dir", str(tmp_path / "s"))
    assert (done.returncode, done.stderr.count("\n")) == (2, 1)
    assert "cannot read dev-idp config" in done.stderr


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_cli_bad_port_is_a_usage_error(port: str) -> None:
    done = _cli("dev-idp", "--port", port)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "is not a port number" in done.stderr


def test_cli_help() -> None:
    top = _cli("--help")
    assert top.returncode == 0 and "dev-idp" in top.stdout
    sub = _cli("dev-idp", "--help")
    assert sub.returncode == 0 and "--config" in sub.stdout and "--log-level" in sub.stdout
    assert _cli().returncode == 2


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_until_interrupted(tmp_path: Path, stop_signal: signal.Signals) -> None:
    command = [
        sys.executable, "-m", "tokensmith.cli", "dev-idp", "--port", "0",
        "--state-dir", str(tmp_path), "--auto-complete-device", "ada@contoso.onmicrosoft.com",
    ]  # fmt: skip
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        lines = [process.stdout.readline()]
        while lines[-1] and "Ctrl-C" not in lines[-1]:
            lines.append(process.stdout.readline())
        process.send_signal(stop_signal)
        try:
            rest, errors = process.communicate(timeout=30)
        finally:
            if process.poll() is None:  # it did not stop: fail without leaving it running
                process.kill()
                process.wait()
    banner = "".join(lines)
    assert process.returncode == 0 and "stopped" in rest and errors == ""
    assert "listening on https://127.0.0.1:" in banner
    assert f"REQUESTS_CA_BUNDLE={tmp_path / 'ca.pem'}" in banner
    assert "instance_discovery=False" in banner
    assert "auto-complete user: ada@contoso.onmicrosoft.com" in banner
    assert (tmp_path / "signing-key.pem").stat().st_mode & 0o077 == 0


def test_import_tokensmith_does_not_load_the_dev_idp() -> None:
    code = "import sys, tokensmith, tokensmith.cli; print('tokensmith.devidp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_state_dir_is_reused(tmp_path: Path) -> None:
    with DevIdP(state_dir=tmp_path) as first:
        ca = first.ca_path.read_bytes()
        kid = first.context.keys.kid
    with DevIdP(state_dir=tmp_path) as second:
        assert second.ca_path.read_bytes() == ca
        assert second.context.keys.kid == kid


_IDENTITIES = """
[[managed_identities]]
kind = "system"
client_id = "aaaaaaaa-0000-4000-8000-000000000001"
object_id = "aaaaaaaa-0000-4000-8000-000000000002"
resource_id = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/v"

[[managed_identities]]
client_id = "bbbbbbbb-0000-4000-8000-000000000001"
object_id = "bbbbbbbb-0000-4000-8000-000000000002"
resource_id = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/uami/u"
tenant = "tiny.example"
"""


def test_the_default_managed_identities_are_the_documented_fixtures() -> None:
    config = parse_config(loads(DEFAULT_CONFIG_TOML))
    system, user = config.managed_identities
    assert (system.kind, system.client_id, system.object_id) == (
        "system",
        "6d0c5b4a-3e2f-4a1b-9c8d-7e6f5a4b3c21",
        "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    )
    assert system.resource_id.endswith("/Microsoft.Compute/virtualMachines/dev-vm")
    assert (user.kind, user.client_id, user.object_id) == (
        "user",
        "c4b3a291-8f7e-4d6c-9b5a-4e3d2c1b0a99",
        "f9e8d7c6-b5a4-4392-8a1b-0c9d8e7f6a55",
    )
    assert user.resource_id.endswith("/userAssignedIdentities/dev-uami")
    assert system.tenant == user.tenant == config.tenant("contoso.onmicrosoft.com").id  # type: ignore[union-attr]
    assert config.managed_identity() is system
    assert config.managed_identity(object_id=user.object_id.upper()) is user
    assert config.managed_identity(client_id=system.client_id) is None  # user-assigned only


def test_managed_identities_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "idp.toml"
    path.write_text(_MINIMAL + _IDENTITIES, encoding="utf-8")
    config = load_config(path)
    user = config.managed_identity(resource_id=config.managed_identities[1].resource_id)
    assert user is not None and user.kind == "user" and user.tenant == config.tenants[0].id
    assert load_config_text(tmp_path, _MINIMAL).managed_identities == ()


def load_config_text(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "other.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('kind = "system"', 'kind = "vm"'), "'kind' must be 'system' or 'user'"),
        (('kind = "system"', 'kind = "system"\ncolour = 1'), "unknown key"),
        (('client_id = "aaaaaaaa', 'client_id = "xaaaaaaa'), "is not a GUID"),
        (('resource_id = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute',
          'resource_id = "vm'), "must be an ARM id"),
        (('tenant = "tiny.example"', 'tenant = "nowhere.example"'), "is not configured"),
        (('client_id = "bbbbbbbb-0000-4000-8000-000000000001"',
          'kind = "system"\nclient_id = "bbbbbbbb-0000-4000-8000-000000000001"'),
         "duplicate system-assigned"),
        (('object_id = "bbbbbbbb-0000-4000-8000-000000000002"',
          'object_id = "aaaaaaaa-0000-4000-8000-000000000002"'),
         "duplicate managed identity object_id"),
    ],
)  # fmt: skip
def test_managed_identity_errors_name_the_problem(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_config_text(tmp_path, _MINIMAL + _IDENTITIES.replace(*change, 1))
