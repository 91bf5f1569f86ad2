"""The value types every process loads are named tuples or slotted classes, not
dataclasses (docs/architecture.md, "Import cost"): they keep what the dataclasses
gave (immutability, comparison by value, a changed copy) and keep secrets, callables
and whole documents out of their reprs."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from tokensmith.authority import parse_authority
from tokensmith.authority.discovery import AuthorityMetadata
from tokensmith.cache.changes import EntryDeleted, EntryPut
from tokensmith.engine.context import AuthorityHandle
from tokensmith.protocol.effects import BrokerCall, BrowserSignIn, Shared, Sleep
from tokensmith.protocol.http import CallOptions, HttpRequest, HttpResponse
from tokensmith.transport.deadline import Deadline

SECRET = "s3cr3t-value"


def _metadata(raw: dict[str, str]) -> AuthorityMetadata:
    return AuthorityMetadata(
        "https://idp/authorize",
        "https://idp/token",
        None,
        "https://idp",
        None,
        None,
        "t",
        raw=MappingProxyType(raw),
    )


def test_write_events_compare_by_kind_and_fields_and_are_read_only() -> None:
    put = EntryPut("AccessToken", "k", {"secret": SECRET})
    assert put == EntryPut("AccessToken", "k", {"secret": SECRET})
    assert put != EntryDeleted("AccessToken", "k", {"secret": SECRET})
    assert put != EntryPut("AccessToken", "other", {"secret": SECRET})
    with pytest.raises(AttributeError):
        put.key = "x"
    with pytest.raises(TypeError):
        hash(put)
    assert SECRET not in repr(put) and "k" in repr(put)


def test_metadata_compares_and_hashes_without_its_document() -> None:
    one, two = _metadata({"a": SECRET}), _metadata({"b": "other"})
    assert one == two and hash(one) == hash(two)
    assert (one != two) is False  # not tuple inequality, which would see the documents
    assert one != one._replace(tenant="u")
    assert SECRET not in repr(one) and "token_endpoint='https://idp/token'" in repr(one)
    assert one.raw["a"] == SECRET


def test_http_values_give_changed_copies_and_short_reprs() -> None:
    request = HttpRequest("POST", "https://idp/token", data={"client_secret": SECRET})
    changed = request._replace(headers={"DPoP": "proof"})
    assert changed.headers == {"DPoP": "proof"} and request.headers == {}
    assert changed.data == request.data and changed.method == "POST"
    assert repr(request) == "HttpRequest(POST https://idp/token)"
    with pytest.raises(AttributeError):
        request.url = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        request.headers["x"] = "y"  # type: ignore[index]  # the shared default is read-only
    assert HttpResponse(200, SECRET) == HttpResponse(200, SECRET, {})
    assert SECRET not in repr(HttpResponse(200, SECRET))
    assert (
        repr(CallOptions(5.0, {"verify": SECRET})) == "CallOptions(timeout=5.0, extra=['verify'])"
    )


def test_effects_keep_callables_out_of_reprs_and_are_read_only() -> None:
    def start(uri: str) -> tuple[str, str]:
        return "state", uri

    sign_in = BrowserSignIn(start, port=8400)
    assert "start" not in repr(sign_in) and "port=8400" in repr(sign_in)
    assert "function" not in repr(BrokerCall("acquireTokenSilently", print))
    shared: Shared[None] = Shared(object(), "key", print)  # type: ignore[arg-type]
    assert repr(shared) == "Shared(key='key')"
    with pytest.raises(AttributeError):
        shared.key = "other"
    assert Sleep(1.5) == Sleep(1.5, False, None) and Sleep(1.5) != Sleep(2)


def test_mutable_handles_keep_their_fields_and_hide_documents() -> None:
    spec = parse_authority("https://login.microsoftonline.com/common")
    handle = AuthorityHandle(spec, ("login.microsoftonline.com",))
    handle.metadata = _metadata({"a": SECRET})
    assert handle.realm == "t" and SECRET not in repr(handle)
    with pytest.raises(AttributeError):
        handle.other = 1  # type: ignore[attr-defined]
    deadline = Deadline(10.0, 5.0, lambda: 2.0)
    assert deadline.remaining() == 3.0 and "10.0" in repr(deadline)
