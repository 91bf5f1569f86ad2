"""The CLI in pipes, as scripts use it: plain output, --json, exit statuses
(docs/cli.md), against a ``tokensmith dev-idp`` process on loopback."""

from __future__ import annotations

import json
import stat
import subprocess
import sys

from tests.cli.conftest import (
    ADA,
    DAEMON,
    DAEMON_SECRET,
    Home,
    RunningIdP,
    start_dev_idp,
    stop_dev_idp,
    tokensmith,
)

from tokensmith._jwt import decode_jwt_claims

CONTOSO = "8d2a1f3e-6c4b-4a59-9e7d-2b1c0a9f8e7d"


def test_version_and_python_dash_m(home: Home) -> None:
    done = tokensmith(home, "--version")
    assert (done.returncode, done.stdout.strip()) == (0, "tokensmith 0.1.0")
    assert tokensmith(home).returncode == 2


def test_the_command_imports_rich_and_httpx_only_when_it_needs_them(home: Home) -> None:
    code = (
        "import sys\n"
        "import tokensmith, tokensmith.cli\n"
        "from tokensmith.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('rich', 'httpx', 'tokensmith.devidp') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=home.env
    )
    assert done.stdout.splitlines() == ["tokensmith 0.1.0", "[]"]


def test_login_then_token_from_the_cache(home: Home, dev_idp: RunningIdP) -> None:
    login = tokensmith(home, "login", "--profile", "dev-idp", "--device-code")
    assert login.returncode == 0, login.stderr
    assert login.stdout.strip() == f"Signed in as {ADA} ({dev_idp.base_url}/organizations)"
    assert "enter the code" in login.stderr
    plain = tokensmith(home, "token", "--profile", "dev-idp")
    assert plain.returncode == 0, plain.stderr
    token = plain.stdout.strip()
    assert plain.stdout == token + "\n"  # the token alone: $(tokensmith token) works
    assert decode_jwt_claims(token)["upn"] == ADA
    described = json.loads(tokensmith(home, "token", "--profile", "dev-idp", "--json").stdout)
    assert described["source"] == "cache" and described["access_token"] == token
    assert described["username"] == ADA and 3000 < described["expires_in"] <= 3599
    assert described["expires_at"].endswith("Z")
    forced = tokensmith(home, "token", "--profile", "dev-idp", "--force-refresh", "--json")
    assert json.loads(forced.stdout)["source"] == "identity_provider"


def test_the_cache_file_is_private_msal_json(home: Home, dev_idp: RunningIdP) -> None:
    assert tokensmith(home, "login", "--profile", "dev-idp", "--device-code").returncode == 0
    mode = home.cache_file.stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    document = json.loads(home.cache_file.read_text())
    assert set(document) >= {"AccessToken", "RefreshToken", "IdToken", "Account"}
    assert not list(home.cache_file.parent.glob(".token_cache.json.*"))  # no temp left


def test_token_before_login_says_what_to_do(home: Home, dev_idp: RunningIdP) -> None:
    done = tokensmith(home, "token", "--profile", "dev-idp")
    assert done.returncode == 4 and done.stdout == ""
    assert "no account is signed in" in done.stderr and "tokensmith login" in done.stderr
    described = tokensmith(home, "token", "--profile", "dev-idp", "--json")
    assert described.returncode == 4
    assert json.loads(described.stdout)["error"]["code"] == "not_signed_in"


def test_usage_errors_are_status_2_without_traceback(home: Home) -> None:
    no_client = tokensmith(home, "token", "--scope", "User.Read")
    assert no_client.returncode == 2 and "no client id" in no_client.stderr
    no_scope = tokensmith(home, "token", "--client-id", "x")
    assert no_scope.returncode == 2 and "--scope" in no_scope.stderr
    no_idp = tokensmith(home, "token", "--profile", "dev-idp")
    assert no_idp.returncode == 2 and "no dev IdP is running" in no_idp.stderr
    for done in (no_client, no_scope, no_idp):
        assert "Traceback" not in done.stderr


def test_environment_and_profile_file_give_defaults(home: Home, dev_idp: RunningIdP) -> None:
    config = home.root / "config" / "tokensmith" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(
        "[profiles.daemon]\n"
        f'client_id = "{DAEMON}"\n'
        f'authority = "{dev_idp.base_url}/organizations"\n'
        f'ca_bundle = "{dev_idp.ca_path}"\n'
        'scopes = ["api://tokensmith-api-a/.default"]\n'
    )
    secret = {"TOKENSMITH_CLIENT_SECRET": DAEMON_SECRET}
    first = tokensmith(
        home,
        "token",
        "--profile",
        "daemon",
        "--tenant",
        "contoso.onmicrosoft.com",
        "--json",
        **secret,
    )
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["source"] == "identity_provider"
    again = tokensmith(home, "token", "--json", "--tenant", "contoso.onmicrosoft.com",
                       TOKENSMITH_PROFILE="daemon", **secret)  # fmt: skip
    assert json.loads(again.stdout)["source"] == "cache"
    by_resource = tokensmith(home, "token", "--profile", "daemon", "--tenant",
                             "contoso.onmicrosoft.com", "--resource", "api://tokensmith-api-b",
                             "--json", **secret)  # fmt: skip
    claims = decode_jwt_claims(json.loads(by_resource.stdout)["access_token"])
    assert claims["aud"] in ("api://tokensmith-api-b", "b0b0b0b0-2c3d-4e4f-9a5b-6c7d8e9f0a02")
    unknown = tokensmith(home, "token", "--profile", "nope")
    assert unknown.returncode == 2 and "no [profiles.nope]" in unknown.stderr


def test_accounts_and_logout(home: Home, dev_idp: RunningIdP) -> None:
    empty = tokensmith(home, "accounts")
    assert empty.returncode == 0 and "no accounts" in empty.stdout
    assert tokensmith(home, "login", "--profile", "dev-idp", "--device-code").returncode == 0
    listed = tokensmith(home, "accounts")
    header, row = listed.stdout.splitlines()
    assert header.split() == ["USERNAME", "HOME", "TENANT", "ENVIRONMENT", "HOME", "ACCOUNT", "ID"]
    assert row.split()[:3] == [ADA, CONTOSO, "127.0.0.1"]
    assert "\x1b[" not in listed.stdout  # plain in a pipe
    rows = json.loads(tokensmith(home, "accounts", "--json").stdout)["accounts"]
    assert [(r["username"], r["home_tenant_id"]) for r in rows] == [(ADA, CONTOSO)]
    out = tokensmith(home, "logout", "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["signed_out"] == [ADA]
    assert json.loads(tokensmith(home, "accounts", "--json").stdout)["accounts"] == []
    assert tokensmith(home, "token", "--profile", "dev-idp").returncode == 4
    assert tokensmith(home, "logout", "--username", ADA).returncode == 4


def test_cache_export_inspect_import(home: Home, dev_idp: RunningIdP) -> None:
    assert tokensmith(home, "login", "--profile", "dev-idp", "--device-code").returncode == 0
    exported = home.root / "exported.json"
    assert tokensmith(home, "cache", "export", str(exported)).returncode == 0
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    inspected = json.loads(tokensmith(home, "cache", "inspect", str(exported), "--json").stdout)
    assert inspected["counts"]["AccessToken"] == 1 and inspected["accounts"][0]["username"] == ADA
    assert "secret" not in json.dumps(inspected) and "eyJ" not in json.dumps(inspected)
    assert tokensmith(home, "logout").returncode == 0
    imported = tokensmith(home, "cache", "import", str(exported), "--json")
    assert imported.returncode == 0 and json.loads(imported.stdout)["new_entries"] >= 4
    again = json.loads(tokensmith(home, "token", "--profile", "dev-idp", "--json").stdout)
    assert again["source"] == "cache"


def test_a_broken_cache_file_is_named_with_its_position(home: Home) -> None:
    broken = home.root / "broken.json"
    broken.write_text('{\n  "AccessToken": {,\n}\n')
    done = tokensmith(home, "cache", "inspect", str(broken))
    assert done.returncode == 2
    assert str(broken) in done.stderr and "line 2, column 19" in done.stderr
    home.cache_file.parent.mkdir(parents=True, exist_ok=True)
    home.cache_file.write_text("[1, 2")
    used = tokensmith(home, "accounts")
    assert used.returncode == 2 and str(home.cache_file) in used.stderr and "line 1" in used.stderr


def test_decode_says_nothing_was_verified_unless_asked(home: Home, dev_idp: RunningIdP) -> None:
    assert tokensmith(home, "login", "--profile", "dev-idp", "--device-code").returncode == 0
    token = tokensmith(home, "token", "--profile", "dev-idp").stdout.strip()
    shown = tokensmith(home, "decode", stdin=token)
    assert shown.returncode == 0 and "NOT VERIFIED" in shown.stdout and ADA in shown.stdout
    claims = decode_jwt_claims(token)
    issuer = claims["iss"].rstrip("/") + "/v2.0"
    tid = claims["tid"]
    keys = f"{dev_idp.base_url}/{tid}/discovery/v2.0/keys"
    verified = tokensmith(
        home,
        "decode",
        token,
        "--verify",
        "--jwks",
        keys,
        "--ca-bundle",
        str(dev_idp.ca_path),
        "--json",
    )
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["verified"] is True
    head, body, signature = token.split(".")
    forged = f"{head}.{body}.{signature[:-4]}AAAA"
    rejected = tokensmith(
        home, "decode", forged, "--verify", "--jwks", keys, "--ca-bundle", str(dev_idp.ca_path)
    )
    assert rejected.returncode == 5 and "signature does not verify" in rejected.stderr
    assert tokensmith(home, "decode", "not-a-jwt").returncode == 2
    assert tokensmith(home, "decode", token, "--verify").returncode == 2
    assert issuer  # the v2.0 issuer differs from a v1.0 token's: --jwks names the keys directly


def test_client_certificate_credential(home: Home, dev_idp: RunningIdP) -> None:
    cert = home.root / "state" / "tokensmith" / "dev-idp" / "clients" / f"{DAEMON}.pem"
    assert cert.exists(), sorted(p.name for p in cert.parent.iterdir())
    done = tokensmith(home, "token", "--client-id", DAEMON, "--certificate", str(cert),
                      "--authority", f"{dev_idp.base_url}/contoso.onmicrosoft.com",
                      "--ca-bundle", str(dev_idp.ca_path), "--scope", "api://tokensmith-api-a/.default",
                      "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (
        decode_jwt_claims(json.loads(done.stdout)["access_token"])["azpacr"] == "2"
    )  # certificate


def test_an_unreachable_provider_is_status_3_with_a_hint(home: Home) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = tokensmith(home, "token", "--client-id", DAEMON, "--scope", "api://x/.default",
                      "--authority", f"https://127.0.0.1:{port}/contoso.onmicrosoft.com",
                      "--json", TOKENSMITH_CLIENT_SECRET="s")  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert "OpenID discovery (GET https://127.0.0.1:" in done.stderr
    assert f"is the identity provider running at 127.0.0.1:{port}?" in done.stderr
    assert json.loads(done.stdout)["error"]["code"] == "unreachable"


def test_a_failing_provider_is_status_3_with_a_hint(home: Home) -> None:
    config = home.root / "faulty.toml"  # merged over the built-in configuration
    config.write_text(f'[[faults]]\nkind = "server_error"\nclient_id = "{DAEMON}"\ncount = 10\n')
    idp = start_dev_idp(home, "--config", str(config))
    try:
        secret = {"TOKENSMITH_CLIENT_SECRET": DAEMON_SECRET}
        done = tokensmith(home, "token", "--client-id", DAEMON,
                          "--scope", "api://tokensmith-api-a/.default",
                          "--authority", f"{idp.base_url}/contoso.onmicrosoft.com",
                          "--ca-bundle", str(idp.ca_path), **secret)  # fmt: skip
    finally:
        stop_dev_idp(idp)
    assert done.returncode == 3, done.stderr
    assert "HTTP 503" in done.stderr and "failed on its side; try again" in done.stderr
