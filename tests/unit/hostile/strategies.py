"""Hypothesis strategies for hostile provider answers, cache documents and arguments.

Each strategy mixes well-formed values (so that deep paths are reached) with the
values that broke tokensmith before issue 14: huge integers, non-finite floats,
booleans where numbers belong, containers where strings belong, lone surrogates.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from tests.unit.application.fake_entra import client_info, unsigned_jwt
from tests.unit.hostile.surfaces import AUTHORITY, START, UID, good_claims, good_response

NASTY_SCALARS: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    10**400,
    -(10**400),
    2**63,
    1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    "",
    " ",
    "1e400",
    "NaN",
    "inf",
    "true",
    "3600",
    "-5",
    "\ud800",
    "x\udfffy",
    "\x00",
    "é",
    "a b",
]

scalars = st.one_of(
    st.sampled_from(NASTY_SCALARS),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.booleans(),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _mutated(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``base`` with some fields replaced by hostile values and some removed."""
    keys = sorted(base)
    return st.tuples(
        st.dictionaries(st.sampled_from(keys), json_values, max_size=3),
        st.lists(st.sampled_from(keys), max_size=2),
        st.dictionaries(
            st.sampled_from(["foci", "refresh_in", "expires_on", "error"]), json_values, max_size=1
        ),
    ).map(lambda t: _apply(base, *t))


def _apply(
    base: dict[str, Any], changes: dict[str, Any], removed: list[str], extra: dict[str, Any]
) -> dict[str, Any]:
    body = dict(base)
    body.update(changes)
    for key in removed:
        body.pop(key, None)
    body.update(extra)
    return body


token_bodies = _mutated(good_response(7, START, ["Mail.Read"]))
token_answers = st.one_of(
    token_bodies.map(lambda b: (b, 200)),
    st.tuples(json_values, st.sampled_from([200, 400, 401, 429, 500])),
    st.tuples(st.text(max_size=20), st.sampled_from([200, 400, 429])),
)

claims = st.one_of(
    _mutated(good_claims(START)),
    st.dictionaries(
        st.sampled_from(["sub", "oid", "tid", "exp", "preferred_username", "upn"]),
        json_values,
        max_size=4,
    ),
    st.text(max_size=12),
)

discovery_documents = st.one_of(
    _mutated(
        {
            "authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/authorize",
            "token_endpoint": f"{AUTHORITY}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/devicecode",
            "issuer": f"{AUTHORITY}/v2.0",
        }
    ),
    json_values,
    st.text(max_size=12),
)

device_answers = st.one_of(
    _mutated(
        {
            "device_code": "DC",
            "user_code": "UC",
            "verification_uri": "https://microsoft.com/devicelogin",
            "expires_in": 900,
            "interval": 5,
        }
    ),
    json_values,
)
poll_answers = st.lists(
    st.one_of(
        st.just((400, {"error": "authorization_pending"})),
        st.tuples(
            st.sampled_from([200, 400]),
            st.dictionaries(
                st.sampled_from(["error", "error_description", "interval"]), json_values, max_size=2
            ),
        ),
        token_bodies.map(lambda b: (200, b)),
    ),
    max_size=3,
)

_SECTIONS = ["AccessToken", "RefreshToken", "IdToken", "Account", "AppMetadata"]
_FIELDS = [
    "secret",
    "home_account_id",
    "environment",
    "client_id",
    "target",
    "realm",
    "expires_on",
    "extended_expires_on",
    "refresh_on",
    "cached_at",
    "family_id",
    "username",
    "local_account_id",
    "authority_type",
    "last_modification_time",
    "credential_type",
    "token_type",
    "unknown_field",
]


def _cache_mutation(
    ops: list[tuple[str, int, str, Any, bool]],
) -> Callable[[dict[str, Any]], None]:
    def mutate(state: dict[str, Any]) -> None:
        for section, position, field, value, delete in ops:
            entries = state.get(section)
            if not isinstance(entries, dict) or not entries:
                state[section] = value if delete else {"k": {field: value}}
                continue
            key = sorted(entries)[position % len(entries)]
            entry = entries[key]
            if field == "<entry>" or not isinstance(entry, dict):
                entries[key] = value
            elif delete:
                entry.pop(field, None)
            else:
                entry[field] = value

    return mutate


cache_mutations = st.lists(
    st.tuples(
        st.sampled_from(_SECTIONS),
        st.integers(0, 3),
        st.sampled_from([*_FIELDS, "<entry>"]),
        json_values,
        st.booleans(),
    ),
    min_size=1,
    max_size=3,
).map(_cache_mutation)

authorities = st.one_of(
    st.sampled_from(
        [
            AUTHORITY,
            "https://login.microsoftonline.com/common",
            "https://login.microsoftonline.com/",
            "https://login.microsoftonline.com:99999/x",
            "https://[::1/x",
            "https://\ud800/x",
            "https://host/adfs",
            "https://x.b2clogin.com/x.onmicrosoft.com/B2C_1_a",
            "https://login.microsoftonline.com/%00",
            "https://login.microsoftonline.com/a/b/c/d",
        ]
    ),
    st.builds(lambda t: f"https://login.microsoftonline.com/{t}", st.text(max_size=10)),
    st.builds(lambda t: f"https://{t}/tenant", st.text(max_size=10)),
    json_values,
)

scope_arguments = st.one_of(
    st.lists(st.one_of(st.text(max_size=10), scalars), max_size=4),
    json_values,
    st.sets(st.text(max_size=6), max_size=3),
    st.just(("User.Read",)),
)

_ACCOUNT = {
    "home_account_id": f"{UID}.x",
    "environment": "login.microsoftonline.com",
    "username": "ada@contoso.example",
    "local_account_id": UID,
    "realm": "x",
}
account_arguments = st.one_of(
    _mutated(_ACCOUNT),
    json_values,
    st.just(None),
)

id_token_strings = st.one_of(
    claims.map(lambda c: unsigned_jwt(c) if isinstance(c, dict) else c),
    st.sampled_from(["a.b.c", "..", unsigned_jwt({"sub": "s"}) + ".x", json.dumps({})]),
)
client_infos = st.one_of(
    st.builds(lambda u, t: client_info(u, t), st.text(max_size=5), st.text(max_size=5)),
    json_values,
)
