"""URL descriptions and message scrubbing used in logs and error messages."""

from __future__ import annotations

import pytest

from tokensmith.transport._describe import describe_url, host_of, scrub


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://login.example/t/token", "login.example"),
        ("https://user:pw@login.example:8443/x", "login.example:8443"),
        ("http://[::1]:8080/x", "[::1]:8080"),
        ("http://host:notaport/x", "?"),
        ("not a url", "?"),
        ("", "?"),
    ],
)
def test_host_of(url: str, expected: str) -> None:
    assert host_of(url) == expected


@pytest.mark.parametrize(
    ("url", "params", "expected"),
    [
        ("https://a.example/p", None, "https://a.example/p"),
        ("https://a.example/p?code=XYZ&state=S", None, "https://a.example/p?code=…&state=…"),
        ("https://u:pw@a.example/p?x=1", {"y": "2"}, "https://a.example/p?x=…&y=…"),
        ("http://[bad/p", None, "<unparsable URL>"),
    ],
)
def test_describe_url_keeps_names_only(
    url: str, params: dict[str, str] | None, expected: str
) -> None:
    assert describe_url(url, params) == expected


def test_scrub_replaces_values_from_every_source() -> None:
    text = "failed for code=SECRETCODE with pw hunter2 and id 7"
    out = scrub(text, {"code": "SECRETCODE"}, None, {"password": "hunter2", "n": "7"})
    assert out == "failed for code=*** with pw *** and id 7"  # short values are kept
