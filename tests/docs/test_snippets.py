"""Every snippet of the pages in PAGES runs as printed (issue 15).

* ``python`` blocks run in order, one namespace per page, in a temporary directory;
  they start the dev IdP in-process where they need one.
* ``sh`` blocks run line by line in a shell, in order, in a person's environment of
  their own (temporary HOME and XDG directories, ``TOKENSMITH_DEV_IDP_PORT=0``): a
  ``tokensmith dev-idp`` line starts the server in the background (as in its own
  terminal) and waits for its banner; every other line must exit 0.
* ``toml`` blocks, of these pages and of every page in docs/, are dev IdP
  configurations and must load (merged over the built-in one); one marked
  ``cli-profile`` must be a valid ``config.toml`` of the CLI.
* A block preceded by ``<!-- snippet: not run (reason) -->`` is not run; the test
  ``test_blocks_that_are_not_run_are_listed`` lists every such block, so adding one is
  a decision made here, not an accident.

To opt a page in, add its path to :data:`PAGES` (and list its not-run blocks in
:data:`NOT_RUN`). Pages not listed are not read, so a page being written elsewhere
cannot break this test.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.cli._home import Home

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("README.md", "docs/dev-idp.md", "docs/cli.md")
NOT_RUN = {
    ("README.md", "installs packages"),
    ("README.md", "sets up the whole development environment"),
    ("README.md", "needs a Microsoft Entra tenant and a person to sign in"),
    ("README.md", "needs a Microsoft Entra tenant and app registrations"),
    ("README.md", "reads your own msal_cache.json"),
    ("README.md", "needs Azure compute, or the dev IdP's endpoint in the environment"),
    ("docs/dev-idp.md", "each line starts a server that runs until Ctrl-C"),
    ("docs/dev-idp.md", "needs a dev IdP on port 8443 and its ca.pem in the directory"),
}
_FENCE = re.compile(r"^```(\w*)\s*$")
_MARKER = re.compile(r"^<!-- snippet: (.+?) -->$")
_NOT_RUN = re.compile(r"^not run \((.+)\)$")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    language: str
    marker: str
    text: str

    @property
    def not_run_reason(self) -> str | None:
        found = _NOT_RUN.match(self.marker)
        return found.group(1) if found else None


def blocks(page: str) -> list[Block]:
    """The fenced blocks of ``page``, with the marker comment just above each."""
    lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        before = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        marker = _MARKER.match(before.strip())
        text = "\n".join(lines[index + 1 : end]) + "\n"
        found.append(
            Block(page, index + 1, opening.group(1), marker.group(1) if marker else "", text)
        )
        index = end + 1
    return found


def _run(page: str, language: str) -> list[Block]:
    return [b for b in blocks(page) if b.language == language and b.not_run_reason is None]


def test_blocks_that_are_not_run_are_listed() -> None:
    marked = {(b.page, b.not_run_reason) for p in PAGES for b in blocks(p) if b.not_run_reason}
    assert marked == NOT_RUN
    unknown = [b for p in PAGES for b in blocks(p) if b.language not in ("python", "sh", "toml")]
    assert unknown == [], "a block of another language: give it one of these or mark it"


@pytest.mark.parametrize("page", [p for p in PAGES if _run(p, "python")])
def test_python_blocks_run(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__snippet__"}
    for block in _run(page, "python"):
        code = compile(block.text, f"{page}:{block.line}", "exec")
        exec(code, namespace)  # the page's own code, as a reader would run it


_TOML_PAGES = sorted({*PAGES, *(str(p.relative_to(ROOT)) for p in ROOT.glob("docs/*.md"))})


@pytest.mark.parametrize("page", [p for p in _TOML_PAGES if _run(p, "toml")])
def test_toml_blocks_load(page: str, tmp_path: Path) -> None:
    """Every TOML block of docs/ (of any page) and of PAGES: a dev IdP configuration,
    unless marked ``cli-profile`` (or ``not run (reason)``)."""
    from tokensmith.cli.settings import _read_profiles
    from tokensmith.devidp import load_config

    for block in _run(page, "toml"):
        path = tmp_path / f"block-{block.line}.toml"
        path.write_text(block.text, encoding="utf-8")
        if block.marker == "cli-profile":
            assert _read_profiles(path), f"{page}:{block.line} has no profiles"
        else:
            load_config(path)


@pytest.fixture
def shell_home(tmp_path: Path) -> Iterator[tuple[Path, list[subprocess.Popen[str]]]]:
    servers: list[subprocess.Popen[str]] = []
    yield tmp_path, servers
    for server in servers:
        server.terminate()
        server.communicate(timeout=30)


def _commands(block: Block) -> list[str]:
    return [line for line in block.text.splitlines() if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("page", [p for p in PAGES if _run(p, "sh")])
def test_shell_blocks_run(page: str, shell_home: tuple[Path, list[subprocess.Popen[str]]]) -> None:
    home, servers = shell_home
    env = Home(home).env
    outputs: list[str] = []
    for block in _run(page, "sh"):
        for command in _commands(block):
            where = f"{page}:{block.line}: {command}"
            if command.startswith("tokensmith dev-idp") and "--print-config" not in command:
                if servers:  # the page's session already has its server
                    continue
                servers.append(_start_server(command, env, home))
                continue
            done = subprocess.run(
                ["bash", "-c", command], cwd=home, env=env, capture_output=True, text=True,
                timeout=120, check=False,
            )  # fmt: skip
            assert done.returncode == 0, f"{where}\n{done.stderr}"
            outputs.append(done.stdout)
    if page == "README.md":  # the quick start: the second time the token is from the cache
        assert json.loads(outputs[-1])["source"] == "cache"


def _start_server(command: str, env: dict[str, str], home: Path) -> subprocess.Popen[str]:
    server = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert server.stdout is not None
    line = server.stdout.readline()
    while line and "Ctrl-C" not in line:
        line = server.stdout.readline()
    assert line, f"{command!r} did not start"
    return server
