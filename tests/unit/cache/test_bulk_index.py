"""The bulk paths of the index build and of the account scan give what the one-entry
paths give: bucket values, validity, find_accounts; and build_indexes() changes no
answer."""

from __future__ import annotations

import random
from typing import Any

import pytest
from tests.unit.cache._helpers import CLIENT_ID, ENV, HOME, NOW, app_event, user_event

from tokensmith.cache import SerializableTokenCache
from tokensmith.cache.bucket_values import INDEXES, Columns, group_keys, one, one_group_key
from tokensmith.cache.buckets import SEPARATOR, bucket
from tokensmith.cache.index import CacheIndex
from tokensmith.cache.schema import SECTIONS
from tokensmith.cache.validity import all_usable, usable

_FIELDS = (
    "home_account_id",
    "environment",
    "client_id",
    "realm",
    "username",
    "family_id",
    "ext_cache_key",
    "user_assertion_hash",
    "target",
    "secret",
    "credential_type",
    "authority_type",
)
_ODD: tuple[Any, ...] = (None, "", 7, 2.5, True, ["x"], {"a": 1}, "MiXeD.Example", "a\x1fb")


class _Dict(dict[str, Any]):
    """A dict subclass (entries need not be plain dicts)."""


def _entries(rng: random.Random, count: int, section: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(count):
        entry: dict[str, Any] = {
            "home_account_id": f"u{i % 5}.tid",
            "environment": rng.choice(["login.microsoftonline.com", "Login.Windows.NET"]),
            "client_id": rng.choice(["c1", "c2"]),
            "realm": "tid",
            "username": f"User{i % 3}@X.example",
            "target": "a b",
            "secret": "s",
            "credential_type": section,
            "authority_type": "MSSTS",
            "expires_on": str(NOW + 100),
        }
        if rng.random() < 0.3:  # an odd value somewhere, or a field missing
            name = rng.choice(_FIELDS)
            if rng.random() < 0.5:
                entry.pop(name, None)
            else:
                entry[name] = rng.choice(_ODD)
        out.append(_Dict(entry) if rng.random() < 0.1 else entry)
    return out


@pytest.mark.parametrize("seed", range(8))
def test_bulk_bucket_values_equal_the_one_entry_values(seed: int) -> None:
    rng = random.Random(seed)
    for name, (section, values_of) in INDEXES.items():
        for count in (0, 1, 2, 40):
            entries = _entries(rng, count, section)
            plain = all(type(e) is dict for e in entries)
            for columns in (Columns(entries), Columns(entries, plain)):
                assert values_of(columns) == [one(name, e) for e in entries], name
    entries = _entries(rng, 40, "AccessToken")
    assert group_keys(Columns(entries)) == [one_group_key(e) for e in entries]


def test_a_clean_section_is_read_without_a_python_call_per_entry() -> None:
    entries = [{"home_account_id": f"u{i}", "environment": "Login.Example"} for i in range(3)]
    columns = Columns(entries)
    assert columns.host("environment") == ["login.example"] * 3
    assert columns.text("home_account_id") is columns.text("home_account_id")  # read once
    assert columns.text("realm") == ["", "", ""]  # absent everywhere: norm(None)


def test_a_bucket_of_strings_is_one_string_else_the_tuple() -> None:
    assert bucket("a", "b") == f"a{SEPARATOR}b"
    assert bucket("a", 7) == ("a", 7)
    assert bucket("a") == "a"


@pytest.mark.parametrize("seed", range(8))
def test_all_usable_only_says_yes_when_every_entry_is_usable(seed: int) -> None:
    rng = random.Random(seed)
    yes = 0
    for section in SECTIONS:
        for count in (0, 1, 3, 30):
            entries: list[Any] = _entries(rng, count, section)
            if section == "Account":
                for e in entries:
                    e.pop("credential_type", None)
            if rng.random() < 0.1:
                entries.append(rng.choice(_ODD))
            if all_usable(entries, section):
                yes += 1
                assert all(usable(e, section) for e in entries), (section, entries)
    clean = [{"home_account_id": "h", "environment": "e", "username": None}] * 3
    assert all_usable(clean, "Account")
    assert not all_usable([*clean, {**clean[0], "credential_type": ["Account"]}], "Account")
    assert yes > 4  # (the check above ran)


def _accounts_cache(odd: dict[str, Any] | None) -> SerializableTokenCache:
    source = SerializableTokenCache()
    for i in range(12):
        env = "login.windows.net" if i % 4 == 3 else ENV
        source.add(
            user_event(
                uid=f"u{i:02d}",
                username=f"User{i}@X.example",
                token_endpoint=f"https://{env}/common/oauth2/v2.0/token",
            ),
            now=NOW,
        )
    cache = SerializableTokenCache()
    cache.deserialize(source.serialize())
    if odd is not None:
        cache._cache["Account"]["odd-key"] = odd
    return cache


@pytest.mark.parametrize(
    "odd",
    [
        None,
        {"home_account_id": "h.t", "environment": None, "authority_type": "MSSTS"},
        {"home_account_id": "h.t", "environment": "LOGIN.MICROSOFTONLINE.COM"},
        {"home_account_id": 5, "environment": ENV},
        {"home_account_id": "h.t", "environment": ENV, "username": ["x"]},
        {"home_account_id": "h.t", "environment": ENV, "credential_type": "Account"},
        {"home_account_id": "h.t", "environment": ENV, "credential_type": None},
        "not an entry",
    ],
)
def test_find_accounts_of_a_cloud_gives_the_usable_entries_in_order(odd: Any) -> None:
    cache = _accounts_cache(odd)
    for environments in ([ENV], ["LOGIN.windows.net", ENV], [""], None):
        expected = [
            e
            for e in cache._cache["Account"].values()
            if usable(e, "Account")
            and (
                environments is None
                or (e.get("environment") or "").lower() in {x.lower() for x in environments}
            )
        ]
        found = cache.find_accounts(environments=environments)
        assert [id(e) for e in found] == [id(e) for e in expected], environments
    assert len(cache.find_accounts(environments=[ENV])) >= 9


def _answers(cache: SerializableTokenCache) -> list[Any]:
    cache._at_memo.clear()
    hit = cache.find_access_token(
        home_account_id=HOME,
        environments=[ENV],
        client_id=CLIENT_ID,
        realm="common",
        scopes=["user.read"],
        now=NOW,
    )
    app = cache.find_access_token(
        home_account_id=None,
        environments=[ENV],
        client_id=CLIENT_ID,
        realm="tid",
        scopes=["https://r/.default"],
        now=NOW,
    )
    return [
        hit,
        app,
        cache.find_accounts(username="ADA@contoso.example"),
        cache.find_accounts(environments=[ENV]),
        cache.find_refresh_tokens(home_account_id=HOME, environments=[ENV]),
        cache.find_id_token(
            home_account_id=HOME, environments=[ENV], realm=None, client_id=CLIENT_ID
        ),
        list(cache.search("AccessToken", query={"home_account_id": HOME}, now=NOW)),
        list(cache.search("Account", query={"environment": ENV, "username": "x"}, now=NOW)),
    ]


def test_build_indexes_builds_them_all_and_changes_no_answer() -> None:
    source = SerializableTokenCache()
    source.add(user_event(), now=NOW)
    source.add(user_event(uid="other", username="bob@x.example"), now=NOW)
    source.add(app_event("https://r/.default", client_id=CLIENT_ID, tenant="tid"), now=NOW)
    lazy, eager = SerializableTokenCache(), SerializableTokenCache()
    lazy.deserialize(source.serialize())
    eager.deserialize(source.serialize())
    eager.build_indexes()
    index = eager._index
    assert set(index._built) == set(INDEXES) and index._groups is not None
    assert _answers(eager) == _answers(lazy)
    assert _answers(eager)[0] is not None and _answers(eager)[1] is not None
    assert eager._index is index  # nothing was rebuilt
    eager.add(user_event(uid="third", username="cy@x.example"), now=NOW)  # writes keep it
    assert eager.find_accounts(username="cy@x.example")


def test_insertion_numbers_follow_dict_order_in_each_section_whenever_built() -> None:
    """Sections count from 0 over shared ints; a key written later, before or after
    another section is numbered, still sorts after every older key of its own."""
    small = {f"a{i}": {"home_account_id": "h"} for i in range(2)}
    large = {f"r{i}": {"home_account_id": "h"} for i in range(5)}
    cache: dict[str, Any] = {"AccessToken": small, "RefreshToken": large}
    index = CacheIndex.build(cache)
    assert index.ordinals["AccessToken"] == {"a0": 0, "a1": 1}
    small["a2"] = {"home_account_id": "h"}
    index.put(cache, "AccessToken", "a2")
    assert list(index.ordinals["RefreshToken"].values()) == [0, 1, 2, 3, 4]
    for section, key in (("AccessToken", "a3"), ("RefreshToken", "r5"), ("AccessToken", "a4")):
        cache[section][key] = {"home_account_id": "h"}
        index.put(cache, section, key)
    for section in ("AccessToken", "RefreshToken"):
        numbers = [index.ordinals[section][k] for k in cache[section]]
        assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), section
    assert index.in_order("AccessToken", {"a4", "a0", "a3"}) == ["a0", "a3", "a4"]
