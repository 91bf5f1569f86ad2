"""DPoP for an application (a tokensmith extension): which key, where it is kept, how
the flows use it.

An application opts in with ``dpop=True`` (tokensmith makes a key on the first token
request, ES256 unless the provider's ``dpop_signing_alg_values_supported`` lists only
others, and keeps it in the token cache, so that refresh tokens bound to it stay
usable after a restart)
or ``dpop=DPoPKey(...)`` (the application's own key, kept by the application). The
flows call :func:`binding_of` in the one place token requests are sent
(:func:`tokensmith.engine.token_call.post_token`, and the device-code poll) and
:func:`bound_key_id` where they look access tokens up, so a DPoP-bound token is
served only to a caller holding the same key.

The key kept in the cache is an entry of a ``DPoPKey`` section, written and read
through MSAL's own cache hooks (``key_makers``, ``modify``, ``search``), one per
client id: ``{"client_id", "jkt", "alg", "private_key"}`` (unencrypted PKCS#8 PEM;
the cache already holds refresh tokens, which are as sensitive). A cache that loses
it loses the use of the refresh tokens bound to it: the user signs in again.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tokensmith.errors import ConfigurationError

if TYPE_CHECKING:  # the key and proof modules load when an application opts in
    from tokensmith.protocol.dpop import DPoPKey
    from tokensmith.protocol.dpop_client import DPoPBinding

__all__ = [
    "KEY_SECTION",
    "NO_KEY_YET",
    "DPoPSetting",
    "alg_refusal",
    "binding_of",
    "bound_key_id",
    "dpop_setting",
    "server_algs",
]

KEY_SECTION = "DPoPKey"
"""The cache section that keeps the keys tokensmith made (one per client id)."""


def _key_of_entry(client_id: str = "", **_: Any) -> str:
    return client_id


class DPoPSetting:
    """An application's DPoP opt-in: its key (given, or found in / written to the
    cache on first use) and the server nonces of its calls."""

    def __init__(self, key: DPoPKey | None) -> None:
        from tokensmith.protocol.dpop_client import DPoPBinding

        self._given = key
        self._binding: DPoPBinding | None = None if key is None else DPoPBinding(key)
        self._lock = threading.Lock()
        self._cache: object = None

    def binding(self, cache: Any, client_id: str, algs: Sequence[str] | None = None) -> DPoPBinding:
        """The key and nonces for a call with ``cache`` (the key loaded from or saved
        to ``cache`` when tokensmith manages it; a new one uses the first of
        :data:`~tokensmith.protocol.dpop.ALGORITHMS` the provider lists in ``algs``)."""
        found = self._binding
        if found is not None and (self._given is not None or self._cache is cache):
            return found
        with self._lock:
            if self._binding is None or (self._given is None and self._cache is not cache):
                from tokensmith.protocol.dpop_client import DPoPBinding

                key = _stored_key(cache, client_id) or _new_stored_key(
                    cache, client_id, _preferred(algs)
                )
                nonces = self._binding.nonces if self._binding is not None else None
                self._binding = DPoPBinding(key) if nonces is None else DPoPBinding(key, nonces)
                self._cache = cache
            return self._binding

    def known_key(self, cache: Any, client_id: str) -> DPoPKey | None:
        """The key if there is one already (given, in use, or kept in ``cache``)."""
        found = self._binding
        if found is not None and (self._given is not None or self._cache is cache):
            return found.key
        return _stored_key(cache, client_id)

    def __repr__(self) -> str:
        managed = "given" if self._given is not None else "kept in the token cache"
        return f"DPoPSetting({managed})"


def dpop_setting(value: object) -> DPoPSetting | None:
    """The constructor's ``dpop=`` option: None/False (off), True, or a DPoPKey.

    Raises:
        ValueError: anything else.
    """
    if value is None or value is False:
        return None
    if value is True:
        return DPoPSetting(None)
    from tokensmith.protocol.dpop import DPoPKey

    if isinstance(value, DPoPKey):
        return DPoPSetting(value)
    raise ConfigurationError("dpop must be True, False, None or a tokensmith.DPoPKey")


def _cache_of(ctx: Any) -> Any:
    return getattr(ctx, "token_cache", ctx.cache)


def server_algs(metadata: Any) -> tuple[str, ...] | None:
    """The provider's ``dpop_signing_alg_values_supported`` (RFC 9449 §5.1), if listed."""
    raw = getattr(metadata, "raw", None) or {}
    listed = raw.get("dpop_signing_alg_values_supported")
    if not isinstance(listed, list) or not listed:
        return None
    return tuple(a for a in listed if isinstance(a, str))


def _preferred(algs: Sequence[str] | None) -> str:
    from tokensmith.protocol.dpop import ALGORITHMS

    return next((a for a in ALGORITHMS if algs and a in algs), "ES256")


def binding_of(ctx: Any, metadata: Any = None) -> DPoPBinding | None:
    """The binding of ``ctx``'s calls, or None when the application has no DPoP
    (``metadata``, the provider's, chooses the algorithm of a key made now)."""
    setting: DPoPSetting | None = ctx.dpop
    if setting is None:
        return None
    return setting.binding(_cache_of(ctx), ctx.client_id, server_algs(metadata))


def alg_refusal(binding: DPoPBinding, metadata: Any) -> dict[str, Any] | None:
    """An error answer when the provider lists DPoP algorithms and the key's is not
    among them (sending a proof it must refuse helps nobody), else None."""
    algs = server_algs(metadata)
    if algs is None or binding.key.alg in algs:
        return None
    return {
        "error": "invalid_request",
        "error_description": (
            f"The application's DPoP key signs {binding.key.alg}, which the provider does "
            f"not list in dpop_signing_alg_values_supported ({' '.join(algs)[:200]})."
        ),
    }


NO_KEY_YET = "dpop:no-key-yet"
"""The ``key_id`` of a lookup made before the application has a key: matches nothing."""


def bound_key_id(ctx: Any, data: Mapping[str, Any] | None) -> str | None:
    """The ``key_id`` an access-token lookup must match: the caller's ``data`` one
    (MSAL's SSH certificates), else the DPoP key's thumbprint (a lookup never makes a
    key: without one yet, nothing bound can be cached), else None."""
    if data and data.get("key_id"):
        return str(data["key_id"])
    setting: DPoPSetting | None = ctx.dpop
    if setting is None:
        return None
    key = setting.known_key(_cache_of(ctx), ctx.client_id)
    return NO_KEY_YET if key is None else key.jkt


def _stored_key(cache: Any, client_id: str) -> DPoPKey | None:
    from tokensmith.protocol.dpop import DPoPKey

    for entry in cache.search(KEY_SECTION, query={"client_id": client_id}):
        pem, alg = entry.get("private_key"), entry.get("alg")
        if isinstance(pem, str) and isinstance(alg, str):
            try:
                return DPoPKey.from_pem(pem, alg)
            except ValueError:  # damaged entry: a new key (and a new sign-in) it is
                return None
    return None


def _new_stored_key(cache: Any, client_id: str, alg: str) -> DPoPKey:
    from tokensmith.protocol.dpop import DPoPKey

    key = DPoPKey.generate(alg)
    cache.key_makers.setdefault(KEY_SECTION, _key_of_entry)
    cache.modify(
        KEY_SECTION,
        {"client_id": client_id},
        {"jkt": key.jkt, "alg": key.alg, "private_key": key.private_pem()},
    )
    return key
