"""Item 9 of issue 9: docs/compatibility.md lists every public name and parameter of
MSAL Python 1.39 (found by introspecting the installed ``msal``) with its status, and
says ``same`` or ``differs`` only for what tokensmith has."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import msal  # type: ignore[import-untyped]
import pytest
from tests.unit.dropin.surface_names import msal_names, parameter, resolve_msal

import tokensmith

PAGE = Path(__file__).resolve().parents[3] / "docs" / "compatibility.md"
START, END = "<!-- msal-names:start -->", "<!-- msal-names:end -->"
STATUSES = ("same", "differs", "not built")
_ROW = re.compile(r"^\| `(?P<name>[^`]+)` \| (?P<status>[a-z ]+) \| (?P<note>.*) \|$")


def page_rows() -> dict[str, tuple[str, str]]:
    """``name -> (status, note)`` of the page's name tables."""
    text = PAGE.read_text(encoding="utf-8")
    assert text.count(START) == 1 and text.count(END) == 1, "the name tables' markers"
    section = text[text.index(START) : text.index(END)]
    rows: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        match = _ROW.match(line)
        assert match, f"not a '| `name` | status | notes |' row: {line}"
        name, status = match["name"], match["status"]
        assert status in STATUSES, f"{name}: status {status!r} is not one of {STATUSES}"
        assert name not in rows, f"{name} is listed twice"
        rows[name] = (status, match["note"].strip())
    return rows


def _function(value: Any) -> Any:
    return value.__init__ if inspect.isclass(value) else value


def _position(params: list[inspect.Parameter], name: str) -> int:
    return [p.name for p in params].index(name)


def lacks(name: str, status: str) -> str | None:
    """Why tokensmith lacks what the page says it has (None: it has it)."""
    owner, param = parameter(name)
    try:
        ours = resolve_msal(owner, tokensmith)
    except AttributeError:
        return f"tokensmith has no {owner}"
    if param is None:
        return None
    theirs = [
        p
        for p in inspect.signature(_function(resolve_msal(owner, msal))).parameters.values()
        if p.name != "self"
    ]
    signature = [
        p for p in inspect.signature(_function(ours)).parameters.values() if p.name != "self"
    ]
    named = {p.name: p for p in signature}
    if param not in named:
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature)
        if status == "differs" and takes_any:
            return None
        return f"{owner} has no parameter {param!r}"
    if status == "same":
        mine, msal_param = named[param], next(p for p in theirs if p.name == param)
        if mine.kind is not msal_param.kind:
            return f"{name}: {mine.kind.description} where MSAL's is {msal_param.kind.description}"
        positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
        if mine.kind is positional and _position(signature, param) != _position(theirs, param):
            ours_at, theirs_at = _position(signature, param), _position(theirs, param)
            return f"{name}: position {ours_at} where MSAL's is {theirs_at}"
    return None


def test_the_introspection_finds_msal_public_surface() -> None:
    names = msal_names()
    # not vacuous: the application methods, their parameters, the caches, MI names
    for expected in (
        "msal.PublicClientApplication",
        "ClientApplication(client_id)",
        "ClientApplication.acquire_token_silent(account)",
        "ConfidentialClientApplication.acquire_token_for_client(fmi_path)",
        "TokenCache.CredentialType.REFRESH_TOKEN",
        "SerializableTokenCache.serialize",
        "ManagedIdentityClient.acquire_token_for_client(resource)",
        "msal.managed_identity.get_managed_identity_source",
        "msal.exceptions",
    ):
        assert expected in names
    assert len(names) > 200


def test_every_public_name_of_msal_is_on_the_page() -> None:
    rows = page_rows()
    missing = [n for n in msal_names() if n not in rows]
    assert not missing, f"docs/compatibility.md lacks rows for: {missing}"


def test_the_page_lists_nothing_msal_does_not_have() -> None:
    stale = sorted(set(page_rows()) - set(msal_names()))
    assert not stale, f"rows for names MSAL 1.39 does not have: {stale}"


def test_same_and_differs_only_for_what_tokensmith_has() -> None:
    problems = [
        problem
        for name, (status, _) in sorted(page_rows().items())
        if status != "not built" and (problem := lacks(name, status)) is not None
    ]
    assert not problems, problems


def test_every_difference_and_gap_says_why() -> None:
    unexplained = [n for n, (s, note) in page_rows().items() if s != "same" and not note]
    assert not unexplained, unexplained


@pytest.mark.parametrize(
    ("name", "status", "expected"),
    [
        ("ClientApplication.no_such_method", "same", "tokensmith has no"),
        ("ClientApplication.acquire_token_silent(no_such_param)", "same", "no parameter"),
        ("ClientApplication(client_id)", "same", None),
    ],
)
def test_the_checker_itself_catches_a_false_claim(
    name: str, status: str, expected: str | None
) -> None:
    found = lacks(name, status)
    assert (found is None) if expected is None else (found is not None and expected in found)
