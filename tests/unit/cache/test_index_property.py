"""Property-style check: after random writes, removals, re-loads and direct edits of
``_cache``, every indexed lookup returns exactly what a brute-force scan finds."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest
from tests.unit.cache._helpers import NOW, app_event, user_event

from tokensmith.cache import SerializableTokenCache
from tokensmith.cache.validity import usable

UIDS = ["u1", "u2", "u3"]
UTID = "tid"
HOMES = [f"{u}.{UTID}" for u in UIDS]
ENVS = ["login.microsoftonline.com", "login.windows.net"]
CLIENTS = ["client-a", "client-b"]
REALMS = ["common", "tenant-x"]
SCOPES = ["User.Read", "Mail.Read", "files.read", "openid", "api://R/.default"]
STATS = {"ats": 0, "expired": 0, "rts": 0, "accounts": 0}
"""How many non-empty answers the checks saw (so the test cannot pass vacuously)."""
USERNAMES = ["Ada@X.example", "bob@x.example", "ADA@x.EXAMPLE"]


def _random_event(rng: random.Random) -> dict[str, Any]:
    env, realm = rng.choice(ENVS), rng.choice(REALMS)
    scopes = rng.sample(SCOPES, rng.randint(1, 3))
    extra: dict[str, Any] = {"expires_in": rng.choice([10, 600, 3600, 7200])}
    if rng.random() < 0.3:
        extra["foci"] = "1"
    if rng.random() < 0.5:
        event = user_event(
            uid=rng.choice(UIDS),
            utid=UTID,
            username=rng.choice(USERNAMES),
            scope=scopes,
            client_id=rng.choice(CLIENTS),
            token_endpoint=f"https://{env}/{realm}/oauth2/v2.0/token",
            grant_type=rng.choice(["authorization_code", "refresh_token"]),
            **extra,
        )
        if rng.random() < 0.15:
            event["user_assertion_hash"] = rng.choice(["h1", "h2"])
    else:
        event = app_event(" ".join(scopes), client_id=rng.choice(CLIENTS), tenant=realm, **extra)
        event["scope"] = scopes
        event["environment"] = env
        if rng.random() < 0.2:
            event["data"]["fmi_path"] = rng.choice(["p1", "p2"])
        if rng.random() < 0.2:
            event["data"]["key_id"] = rng.choice(["k1", "k2"])
    return event


def _dict_entries(cache: SerializableTokenCache, section: str) -> list[tuple[str, dict[str, Any]]]:
    entries = cache._cache.get(section)
    if not isinstance(entries, dict):
        return []
    return [(k, e) for k, e in entries.items() if isinstance(e, dict)]


def _mutate(cache: SerializableTokenCache, rng: random.Random) -> None:
    roll = rng.random()
    sections = ["AccessToken", "RefreshToken", "IdToken", "Account", "AppMetadata"]
    section = rng.choice(sections)
    entries = _dict_entries(cache, section)
    if roll < 0.55 or not entries:
        cache.add(_random_event(rng), now=NOW + rng.randint(-4000, 100))
        return
    key, entry = rng.choice(entries)
    if roll < 0.65:
        cache.modify(section, entry)  # removal through the hook
    elif roll < 0.75:
        changes = {
            "AccessToken": {
                "user_assertion_hash": rng.choice(["h1", "h2"]),
                "expires_on": str(NOW + 50),
            },
            "RefreshToken": {
                "family_id": rng.choice(["1", "2"]),
                "last_modification_time": str(NOW + 7),
            },
            "IdToken": {"secret": "x.y.z"},
            "Account": {"username": rng.choice(USERNAMES)},
            "AppMetadata": {"family_id": "1"},
        }[section]
        if rng.random() < 0.2 and section != "AppMetadata":  # a key field: stored key goes stale
            changes = {"realm": rng.choice(REALMS), "environment": rng.choice(ENVS)}
        cache.modify(section, entry, changes)
    elif roll < 0.8:
        cache.forget_account(
            home_account_id=rng.choice(HOMES),
            environments=[rng.choice(ENVS)],
            client_id=rng.choice(CLIENTS),
        )
    elif roll < 0.85:
        cache.remove_app_tokens(client_id=rng.choice(CLIENTS), environments=ENVS)
    elif roll < 0.88:
        cache.deserialize(cache.serialize())
    elif roll < 0.9:
        cache.build_indexes()  # every index at once, then kept up to date
    elif roll < 0.93:
        del cache._cache[section][key]  # behind the index's back
    elif roll < 0.95:  # the newest entry replaced behind the index's back (same size)
        newest = next(reversed(cache._cache[section]))
        cache._cache[section][newest] = dict(
            cache._cache[section][newest], home_account_id=rng.choice(HOMES)
        )
    else:
        clone = copy.deepcopy(entry)
        clone["home_account_id"] = rng.choice(HOMES)
        if rng.random() < 0.3:  # an odd value: the bulk builds take their general path
            clone[rng.choice(["client_id", "realm", "family_id"])] = rng.choice([7, None, ["x"]])
        copy_key = key + "-copy"
        while copy_key in cache._cache[section]:  # an insert (a replaced earlier entry
            copy_key += "-copy"  # is a known limit: test_index_direct_edits.py)
        cache._cache[section][copy_key] = clone  # behind the index's back
        if rng.random() < 0.5:  # and another key removed: the section keeps its size
            del cache._cache[section][rng.choice(entries)[0]]


# ---- brute-force oracles -----------------------------------------------------------


def _usable_entries(
    cache: SerializableTokenCache, section: str
) -> list[tuple[str, dict[str, Any]]]:
    """The entries a lookup may answer with: an odd value (``["x"]``) in a field it
    reads makes an entry unusable (``validity.usable``, tested on its own)."""
    return [(k, e) for k, e in _dict_entries(cache, section) if usable(e, section)]


def _env_is(entry: dict[str, Any], env: str) -> bool:
    value = entry.get("environment")
    return isinstance(value, str) and value.lower() == env.lower()


def _oracle_at(cache: SerializableTokenCache, q: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """(best candidates, expired ones met) for find_access_token's documented rules."""
    wanted = {s.lower() for s in q["scopes"]}
    met_expired: list[Any] = []
    section = cache._cache.get("AccessToken")
    for env in q["environments"]:
        exact = None  # MSAL's O(1) attempt: the entry under the query's own key wins
        if not q["user_assertion_hash"] and isinstance(section, dict):
            exact = section.get(
                cache.key_makers["AccessToken"](
                    home_account_id=q["home_account_id"],
                    environment=env,
                    client_id=q["client_id"],
                    realm=q["realm"],
                    target=" ".join(sorted(q["scopes"])),
                    ext_cache_key=q["ext_cache_key"],
                )
            )
        live: list[Any] = []
        for _, e in _usable_entries(cache, "AccessToken"):
            if not (
                _env_is(e, env)
                and e.get("client_id") == q["client_id"]
                and e.get("realm") == q["realm"]
            ):
                continue
            if q["ext_cache_key"] and e.get("ext_cache_key") != q["ext_cache_key"]:
                continue
            if not q["ext_cache_key"] and "ext_cache_key" in e:
                continue
            if q["key_id"] is not None and e.get("key_id") != q["key_id"]:
                continue
            if q["user_assertion_hash"]:
                if e.get("user_assertion_hash") != q["user_assertion_hash"]:
                    continue
            elif e.get("user_assertion_hash") or (e.get("home_account_id") or "") != (
                q["home_account_id"] or ""
            ):
                continue
            if not wanted <= set(e["target"].lower().split()):
                continue
            (live if int(e["expires_on"]) > q["now"] else met_expired).append(e)
        if any(e is exact for e in live):
            return [exact], met_expired
        if live:
            top = max(int(e["expires_on"]) for e in live)
            return [e for e in live if int(e["expires_on"]) == top], met_expired
    return [], met_expired


def _check_access_token(cache: SerializableTokenCache, rng: random.Random) -> None:
    ext_keys = [
        e["ext_cache_key"] for _, e in _dict_entries(cache, "AccessToken") if "ext_cache_key" in e
    ]
    q: dict[str, Any] = {
        "home_account_id": rng.choice([*HOMES, None]),
        "environments": rng.sample(ENVS, rng.randint(1, 2)),
        "client_id": rng.choice(CLIENTS),
        "realm": rng.choice(REALMS),
        "scopes": [
            s.upper() if rng.random() < 0.3 else s for s in rng.sample(SCOPES, rng.randint(0, 2))
        ],
        "now": NOW + rng.choice([-5000, 0, 500, 3000]),
        "ext_cache_key": rng.choice([None, None, *ext_keys[:1]]),
        "key_id": rng.choice([None, None, "k1"]),
        "user_assertion_hash": rng.choice([None, None, None, "h1"]),
    }
    best, expired = _oracle_at(cache, q)
    found = cache.find_access_token(**q)
    STATS["ats"] += found is not None
    STATS["expired"] += len(expired)
    if best:
        assert any(found is e for e in best), q
    else:
        assert found is None, q
    section = cache._cache.get("AccessToken", {})
    stored = {id(v) for v in section.values()}
    assert all(id(e) in stored for e in expired)  # kept: a lookup is a pure read


def _check_others(cache: SerializableTokenCache, rng: random.Random) -> None:
    home, env, client = rng.choice(HOMES), rng.choice(ENVS), rng.choice(CLIENTS)
    envs = rng.sample(ENVS, rng.randint(1, 2))
    family = rng.choice([None, "1"])
    client_filter = rng.choice([None, client])
    rts = cache.find_refresh_tokens(
        home_account_id=home, environments=envs, client_id=client_filter, family_id=family
    )
    expected_rts = [
        e
        for env_ in envs
        for _, e in _usable_entries(cache, "RefreshToken")
        if _env_is(e, env_)
        and e.get("home_account_id") == home
        and not e.get("user_assertion_hash")
        and (family is None or e.get("family_id") == family)
        and (client_filter is None or e.get("client_id") == client_filter)
    ]
    assert sorted(map(id, rts)) == sorted(map(id, expected_rts))
    order = [
        (next(i for i, x in enumerate(envs) if _env_is(rt, x)), -int(rt["last_modification_time"]))
        for rt in rts
    ]
    assert order == sorted(order)
    STATS["rts"] += len(rts)

    user = rng.choice([None, *USERNAMES]) if rng.random() < 0.7 else None
    env_filter = rng.choice([None, envs])
    hid = rng.choice([None, home])
    expected_accounts = [
        e
        for _, e in _usable_entries(cache, "Account")
        if (env_filter is None or any(_env_is(e, x) for x in env_filter))
        and (user is None or e.get("username", "").lower() == user.lower())
        and (hid is None or e.get("home_account_id") == hid)
    ]
    got = cache.find_accounts(environments=env_filter, username=user, home_account_id=hid)
    STATS["accounts"] += len(got)
    assert [id(a) for a in got] == [id(a) for a in expected_accounts]

    realm = rng.choice([None, *REALMS])
    expected_idt = next(
        (
            e
            for x in envs
            for _, e in _usable_entries(cache, "IdToken")
            if _env_is(e, x)
            and e.get("home_account_id") == home
            and e.get("client_id") == client
            and (realm is None or e.get("realm") == realm)
        ),
        None,
    )
    assert (
        cache.find_id_token(home_account_id=home, environments=envs, realm=realm, client_id=client)
        is expected_idt
    )

    expected_app = next(
        (
            e
            for _, e in _usable_entries(cache, "AppMetadata")
            if _env_is(e, env) and e.get("client_id") == client
        ),
        None,
    )
    assert cache.get_app_metadata(environment=env, client_id=client) is expected_app


def _check_search_against_msal(cache: SerializableTokenCache, rng: random.Random) -> None:
    import msal

    state = cache.serialize()
    theirs, ours = msal.SerializableTokenCache(), SerializableTokenCache()
    theirs.deserialize(state)
    ours.deserialize(state)
    credential_type = rng.choice(
        ["AccessToken", "RefreshToken", "IdToken", "Account", "AppMetadata"]
    )
    fields = {
        "home_account_id": rng.choice([*HOMES, None]),
        "environment": rng.choice(ENVS),
        "client_id": rng.choice(CLIENTS),
        "realm": rng.choice(REALMS),
        "family_id": "1",
        "username": rng.choice(USERNAMES),
    }
    query = {k: v for k, v in fields.items() if rng.random() < 0.6}
    target = rng.sample(SCOPES, rng.randint(0, 2))
    now = NOW + rng.choice([-5000, 0, 3000])
    try:  # (tokensmith skips the entries it cannot use: MSAL yields them too)
        found = theirs.search(credential_type, target, query, now=now)
        expected = [e for e in found if usable(e, credential_type)]
    except TypeError:  # MSAL cannot make the key of an entry holding an odd value
        return
    assert list(ours.search(credential_type, target, query, now=now)) == expected, (
        credential_type,
        target,
        query,
    )


@pytest.mark.parametrize("seed", range(12))
def test_indexed_lookups_equal_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    cache = SerializableTokenCache()
    for step in range(250):
        _mutate(cache, rng)
        _check_access_token(cache, rng)
        _check_others(cache, rng)
        if step % 10 == 0:
            _check_search_against_msal(cache, rng)
    assert json.loads(cache.serialize())  # still valid MSAL JSON


def test_the_property_checks_saw_real_answers() -> None:
    STATS.update(dict.fromkeys(STATS, 0))
    test_indexed_lookups_equal_brute_force(99)
    assert STATS["ats"] > 20 and STATS["expired"] > 5, STATS
    assert STATS["rts"] > 50 and STATS["accounts"] > 50, STATS
