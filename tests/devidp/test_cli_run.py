"""``tokensmith dev-idp`` as a person runs it: a line per request at --log-level info,
absolute paths in the banner, a taken port named."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import httpx


def _start(cwd: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENSMITH_")}
    env["XDG_STATE_HOME"] = str(cwd / "xdg-state")
    process = subprocess.Popen(
        [sys.executable, "-m", "tokensmith", "dev-idp", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
    )
    assert process.stdout is not None
    lines = [process.stdout.readline()]
    while lines[-1] and "Ctrl-C" not in lines[-1]:
        lines.append(process.stdout.readline())
    return process, "".join(lines)


def test_log_level_info_prints_a_line_per_request_and_paths_are_absolute(
    tmp_path: Path,
) -> None:
    process, banner = _start(tmp_path, "--log-level", "info", "--state-dir", "relative/keys")
    try:
        ca = tmp_path / "relative" / "keys" / "ca.pem"
        assert f"CA certificate : {ca}\n" in banner
        assert f"export REQUESTS_CA_BUNDLE={ca} SSL_CERT_FILE={ca}" in banner
        base = banner.split("listening on ", 1)[1].split()[0]
        with httpx.Client(verify=ssl.create_default_context(cafile=str(ca))) as client:
            url = f"{base}/organizations/v2.0/.well-known/openid-configuration?x=secret-ish"
            assert client.get(url).status_code == 200
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=30)
    line = "GET '/organizations/v2.0/.well-known/openid-configuration' -> 200"
    assert line in errors and "secret-ish" not in errors


def test_a_taken_port_is_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "tokensmith", "dev-idp", "--port", str(port),
             "--state-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
    assert "--port N" in done.stderr and "Traceback" not in done.stderr


def test_json_says_where_it_listens_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKENSMITH_")}
    env["XDG_STATE_HOME"] = str(tmp_path / "xdg-state")
    command = [sys.executable, "-m", "tokensmith", "dev-idp", "--port", "0", "--json",
               "--state-dir", str(tmp_path)]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) as process:
        assert process.stdout is not None
        summary = json.loads(process.stdout.readline())
        process.terminate()
        process.communicate(timeout=30)
    assert summary["base_url"].startswith("https://127.0.0.1:")
    assert summary["ca"] == str(tmp_path / "ca.pem") and summary["pid"] == process.pid
    assert summary["authority"] == summary["base_url"] + "/organizations"
