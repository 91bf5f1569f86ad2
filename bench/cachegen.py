"""Deterministic token caches in MSAL Python's unified JSON format.

Both libraries are benchmarked on the *same* JSON text: the bench builds it here and
hands it to each library's ``SerializableTokenCache.deserialize``. Building 100k
entries through ``msal.TokenCache.add`` would be O(n) per add, so the entries are
written directly, field by field and key by key as MSAL Python 1.39 writes them (see
docs/reference: unified cache format, fields and key formats). A unit test checks that
a small cache built here equals one built by msal's own ``add()``.

All users live in one home tenant, the authority's tenant, so the realm of every entry
is that tenant GUID.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from bench.ids import AUTHORITY, CLIENT_ID, ENVIRONMENT, TENANT_ID, TOKEN_ENDPOINT

__all__ = [
    "AUTHORITY",
    "CLIENT_ID",
    "ENVIRONMENT",
    "EXACT_TARGET",
    "SUBSET_TARGET",
    "TENANT_ID",
    "TOKEN_ENDPOINT",
    "AppCache",
    "User",
    "UserCache",
    "app_scope",
    "client_info_for",
    "generate_app_cache",
    "generate_user_cache",
    "id_token_for",
    "parse_refresh_token",
    "username_for",
]


SUBSET_TARGET = "User.Read offline_access openid profile"
"""What Entra stores for a user flow asking for User.Read (reserved scopes included)."""

EXACT_TARGET = "Mail.Read User.Read"
"""A target without reserved scopes, so a caller can ask for exactly these scopes."""

TOKEN_LIFETIME = 86_400
"""Seconds of validity given to generated access tokens (the bench never outlives it)."""

EXPIRING_LIFETIME = 120
"""Seconds left on 'expiring' access tokens: under MSAL's 5-minute usability margin."""

_PLACEHOLDER = "@expires-on@"


@dataclass(frozen=True, slots=True)
class User:
    """One generated user: what a scenario needs to ask for and check its tokens."""

    index: int
    uid: str
    home_account_id: str
    username: str
    access_token: str
    refresh_token: str


@dataclass(frozen=True, slots=True)
class UserCache:
    """A public-client cache of ``len(users)`` users, as MSAL JSON text.

    The access tokens of the users in ``expiring`` carry a placeholder expiry, filled
    in by :meth:`text_at` when a scenario loads the cache: a fresh "expires in two
    minutes" for the refresh scenario, a normal lifetime for the others. This keeps
    one generated text valid however long the bench runs.
    """

    raw_text: str
    users: tuple[User, ...]
    target: str
    expiring: tuple[int, ...]

    def text_at(self, now: int, *, expiring_soon: bool = False) -> str:
        """The cache JSON with the placeholder expiries set relative to ``now``.

        Args:
            now: current epoch seconds.
            expiring_soon: give the ``expiring`` users :data:`EXPIRING_LIFETIME`
                seconds (under MSAL's 5-minute margin) instead of a full lifetime.
        """
        if not self.expiring:
            return self.raw_text
        lifetime = EXPIRING_LIFETIME if expiring_soon else TOKEN_LIFETIME
        return self.raw_text.replace(f'"{_PLACEHOLDER}"', f'"{now + lifetime}"')


@dataclass(frozen=True, slots=True)
class AppCache:
    """A confidential-client cache of app-only tokens, one per resource scope."""

    text: str
    scopes: tuple[str, ...]
    secrets: tuple[str, ...]


def username_for(index: int) -> str:
    """The UPN of generated user ``index``."""
    return f"user{index:06d}@contoso.example"


def app_scope(index: int) -> str:
    """The ``.default`` scope of generated resource ``index``."""
    return f"https://resource{index:06d}.contoso.example/.default"


def _b64url_json(value: dict[str, Any]) -> str:
    from tokensmith._jwt import b64url_encode  # lazy: keeps bench.fakehttp light

    return b64url_encode(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def client_info_for(uid: str, utid: str = TENANT_ID) -> str:
    """Entra's ``client_info`` for a user: base64url JSON ``{"uid", "utid"}``."""
    return _b64url_json({"uid": uid, "utid": utid})


def id_token_for(uid: str, username: str, now: int, tenant: str = TENANT_ID) -> str:
    """An unsigned-looking ID token whose claims match the generated account."""
    header = _b64url_json({"alg": "RS256", "typ": "JWT", "kid": "bench"})
    claims = {
        "aud": CLIENT_ID,
        "iss": f"https://{ENVIRONMENT}/{tenant}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "name": username.split("@", 1)[0],
        "oid": uid,
        "preferred_username": username,
        "sub": f"sub-{uid}",
        "tid": tenant,
        "ver": "2.0",
    }
    return f"{header}.{_b64url_json(claims)}.c2lnbmF0dXJl"


def parse_refresh_token(secret: str) -> tuple[str, str, int] | None:
    """Recover ``(uid, utid, index)`` from a refresh token made by this module."""
    parts = secret.split("~")
    if len(parts) < 4 or parts[0] != "rt":
        return None
    try:
        return parts[1], parts[2], int(parts[3])
    except ValueError:
        return None


def _user_entries(user: User, target: str, now: int, expires_on: str) -> dict[str, Any]:
    hid, env, realm, cid = user.home_account_id, ENVIRONMENT, TENANT_ID, CLIENT_ID
    at = {
        "credential_type": "AccessToken",
        "secret": user.access_token,
        "home_account_id": hid,
        "environment": env,
        "client_id": cid,
        "target": target,
        "realm": realm,
        "token_type": "Bearer",
        "cached_at": str(now),
        "expires_on": expires_on,
        "extended_expires_on": expires_on,
    }
    account = {
        "home_account_id": hid,
        "environment": env,
        "realm": realm,
        "local_account_id": user.uid,
        "username": user.username,
        "authority_type": "MSSTS",
        "account_source": "authorization_code",
    }
    idt = {
        "credential_type": "IdToken",
        "secret": id_token_for(user.uid, user.username, now),
        "home_account_id": hid,
        "environment": env,
        "realm": realm,
        "client_id": cid,
    }
    rt = {
        "credential_type": "RefreshToken",
        "secret": user.refresh_token,
        "home_account_id": hid,
        "environment": env,
        "client_id": cid,
        "target": target,
        "last_modification_time": str(now),
    }
    return {
        "AccessToken": (f"{hid}-{env}-accesstoken-{cid}-{realm}-{target}".lower(), at),
        "Account": (f"{hid}-{env}-{realm}".lower(), account),
        "IdToken": (f"{hid}-{env}-idtoken-{cid}-{realm}-".lower(), idt),
        "RefreshToken": (f"{hid}-{env}-refreshtoken-{cid}--{target}".lower(), rt),
    }


def _app_metadata() -> dict[str, Any]:
    key = f"appmetadata-{ENVIRONMENT}-{CLIENT_ID}"
    return {key: {"client_id": CLIENT_ID, "environment": ENVIRONMENT}}


def _make_users(n: int, seed: int) -> tuple[User, ...]:
    import random  # only generating loads them (the fresh-process probes do not)
    import uuid

    rng = random.Random(seed)
    users = []
    for index in range(n):
        uid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        nonce = f"{rng.getrandbits(64):016x}"
        users.append(
            User(
                index=index,
                uid=uid,
                home_account_id=f"{uid}.{TENANT_ID}",
                username=username_for(index),
                access_token=f"at-{index}-{nonce}",
                refresh_token=f"rt~{uid}~{TENANT_ID}~{index}~{nonce}",
            )
        )
    return tuple(users)


def generate_user_cache(
    n: int,
    *,
    now: int,
    target: str = SUBSET_TARGET,
    expiring: Collection[int] = (),
    seed: int = 20240601,
) -> UserCache:
    """Build a cache of ``n`` signed-in users of one public client.

    Each user gets an Account, an IdToken, an AccessToken and a RefreshToken for
    ``target``; the app gets one AppMetadata entry. Entries are inserted user by user,
    in index order, as repeated sign-ins would.

    Args:
        n: number of users (>= 1).
        now: epoch seconds used as ``cached_at`` / ``last_modification_time``.
        target: the space-separated, sorted scope string stored on AT and RT.
        expiring: indexes of users whose access-token expiry is set when the text is
            loaded (see :meth:`UserCache.text_at`).
        seed: makes the GUIDs and secrets reproducible.

    Raises:
        ValueError: ``n`` < 1 or ``target`` is not sorted.
    """
    if n < 1:
        raise ValueError("a user cache needs at least one user")
    if " ".join(sorted(target.split())) != target:
        raise ValueError("target must be space-joined sorted scopes, as MSAL stores it")
    users = _make_users(n, seed)
    order = tuple(dict.fromkeys(i for i in expiring if 0 <= i < n))
    soon = frozenset(order)
    normal = str(now + TOKEN_LIFETIME)
    sections: dict[str, dict[str, Any]] = {
        "AccessToken": {},
        "Account": {},
        "IdToken": {},
        "RefreshToken": {},
    }
    for user in users:
        expires_on = _PLACEHOLDER if user.index in soon else normal
        for section, (key, entry) in _user_entries(user, target, now, expires_on).items():
            sections[section][key] = entry
    sections["AppMetadata"] = _app_metadata()
    return UserCache(json.dumps(sections), users, target, order)


def generate_app_cache(n: int, *, now: int, seed: int = 20240602) -> AppCache:
    """Build a confidential-client cache with app-only tokens for ``n`` resources.

    Raises:
        ValueError: ``n`` < 0.
    """
    if n < 0:
        raise ValueError("the number of resources cannot be negative")
    import random  # only generating loads it (the fresh-process probes do not)

    rng = random.Random(seed)
    tokens: dict[str, Any] = {}
    scopes, secrets = [], []
    for index in range(n):
        scope = app_scope(index)
        secret = f"app-at-{index}-{rng.getrandbits(64):016x}"
        key = f"-{ENVIRONMENT}-accesstoken-{CLIENT_ID}-{TENANT_ID}-{scope}".lower()
        tokens[key] = {
            "credential_type": "AccessToken",
            "secret": secret,
            "home_account_id": None,
            "environment": ENVIRONMENT,
            "client_id": CLIENT_ID,
            "target": scope,
            "realm": TENANT_ID,
            "token_type": "Bearer",
            "cached_at": str(now),
            "expires_on": str(now + TOKEN_LIFETIME),
            "extended_expires_on": str(now + TOKEN_LIFETIME),
        }
        scopes.append(scope)
        secrets.append(secret)
    body = {"AccessToken": tokens, "AppMetadata": _app_metadata()}
    return AppCache(json.dumps(body), tuple(scopes), tuple(secrets))
