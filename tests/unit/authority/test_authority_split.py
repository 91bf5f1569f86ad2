"""The authority parser splits the plain ``https://host/path`` URLs itself, without
``urllib.parse`` (whose import costs a CLI's cache hit more than the rest of the parse):
for every URL it takes that way, the pieces and the parse are the ones ``urlsplit``
gives, and every other URL still goes through ``urlsplit``."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokensmith.authority import _url, parse
from tokensmith.errors import AuthorityError

# Characters that matter to a URL splitter, beside the plain ones.
_HOSTISH = st.text(alphabet="abcXYZ019.-:@[]%_~", min_size=0, max_size=24)
_PATHISH = st.text(alphabet="aZ09-._~/_?#@:%;=+! é\\", min_size=0, max_size=40)
_PREFIX = st.sampled_from(["https://", "HTTPS://", "http://", "https:/", "https:///", ""])


def _both_ways(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    """``parse_authority(text)`` as parsed, and as parsed through ``urlsplit`` only (a
    spec, or the error message)."""

    def parsed() -> object:
        try:
            return parse.parse_authority(text)
        except AuthorityError as exc:
            return f"AuthorityError: {exc}"

    fast = parsed()
    with monkeypatch.context() as patch:
        patch.setattr(_url, "_plain_pieces", lambda _text: None)
        slow = parsed()
    return fast, slow


@settings(max_examples=400, deadline=None)
@given(prefix=_PREFIX, host=_HOSTISH, path=_PATHISH)
def test_the_plain_split_agrees_with_urlsplit(prefix: str, host: str, path: str) -> None:
    text = prefix + host + path
    plain = _url._plain_pieces(text)
    if plain is not None:
        assert plain == _url._url_pieces(text, "authority")


@settings(max_examples=200, deadline=None)
@given(prefix=_PREFIX, host=_HOSTISH, path=_PATHISH)
def test_a_parse_is_the_same_with_or_without_the_plain_split(
    prefix: str, host: str, path: str
) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, slow = _both_ways(prefix + host + path, monkeypatch)
    assert fast == slow


@pytest.mark.parametrize(
    "url",
    [
        "https://login.microsoftonline.com/common",
        "https://login.microsoftonline.com/5f0c7a1e-2b3d-4c5e-8f90-a1b2c3d4e5f6/",
        "https://login.microsoftonline.us/contoso.onmicrosoft.com",
        "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signupsignin",
        "https://contoso.ciamlogin.com/",
        "https://fs.contoso.com/adfs",
    ],
)
def test_documented_authorities_take_the_plain_split(url: str) -> None:
    assert _url._plain_pieces(url) == _url._url_pieces(url, "authority")


@pytest.mark.parametrize(
    "url",
    [
        "https://Login.microsoftonline.com/common",  # upper case: urlsplit lowers it
        "https://login.microsoftonline.com:443/common",  # a port
        "https://[::1]/common",
        "http://localhost/common",
        "https://login.microsoftonline.com/common?x=1",
        "https://login.microsoftonline.com/common#frag",
        "https://user@login.microsoftonline.com/common",
        "https://login.microsoftonline.com/%41",
    ],
)
def test_other_urls_go_through_urlsplit(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _url._plain_pieces(url) is None
    fast, slow = _both_ways(url, monkeypatch)
    assert fast == slow
