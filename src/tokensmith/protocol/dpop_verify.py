"""DPoP proofs, server side: the checks of RFC 9449 §4.3, for Python APIs and servers.

:class:`DPoPVerifier` checks one request's ``DPoP`` header values against the RFC's
list, in its order: exactly one header (1), one well-formed JWT (2) with every
required claim (3), ``typ`` ``dpop+jwt`` (4), an asymmetric ``alg`` the verifier
accepts (5), a signature by the header's public ``jwk`` (6, 7), ``htm`` (8), ``htu``
(9), the server's ``nonce`` (10), ``iat`` in the window (11), and with an access token
its ``ath`` and the key equal to the token's ``cnf.jkt`` (12). A ``jti`` seen before
within the window is a replay (§11.1). Failures raise :class:`DPoPProofError` whose
``error`` is ``invalid_dpop_proof``, ``use_dpop_nonce`` or ``invalid_token`` (§7.1,
§9) and which can write the ``WWW-Authenticate`` challenge. Nothing here does I/O.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from tokensmith.errors import ProtocolError
from tokensmith.protocol.dpop import ALGORITHMS, PROOF_TYPE, access_token_hash, htu_of
from tokensmith.protocol.jwk import public_key_from_jwk, thumbprint
from tokensmith.protocol.jws import split_compact, verify_signature

__all__ = ["DPoPProofError", "DPoPVerifier", "ReplayCache", "VerifiedProof"]

MAX_PROOF_LENGTH = 8192
"""Longer header values are refused before any decoding (a proof is ~500 bytes for
ES256, ~1.2 kB for a 4096-bit RSA key)."""
_MAX_JTI = 256
_KEY_MEMO = 1024


class DPoPProofError(ProtocolError):
    """A request's DPoP proof (or its binding to the access token) is not acceptable.

    Attributes:
        error: ``invalid_dpop_proof``, ``use_dpop_nonce`` or ``invalid_token``.
        description: what was wrong; never quotes the proof or the token.
    """

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description

    def www_authenticate(self, algorithms: Sequence[str] = ALGORITHMS) -> str:
        """The ``WWW-Authenticate`` value of the 401 answer (RFC 9449 §7.1)."""
        return (
            f'DPoP error="{self.error}", error_description="{self.description}", '
            f'algs="{" ".join(algorithms)}"'
        )


def _invalid(description: str) -> DPoPProofError:
    return DPoPProofError("invalid_dpop_proof", description)


@dataclass(frozen=True, slots=True)
class VerifiedProof:
    """What a proof that passed every check says.

    Attributes:
        jkt: the RFC 7638 thumbprint of the proof's key (compare it to ``cnf.jkt``).
        jti: the proof's unique identifier.
        iat: the proof's issue time (epoch seconds).
        nonce: the proof's ``nonce`` claim, if any.
        claims: every claim of the proof.
    """

    jkt: str
    jti: str
    iat: float
    nonce: str | None
    claims: dict[str, Any]


class ReplayCache:
    """The ``jti`` values seen within the window, each until it expires (thread-safe).

    Expired entries are swept when the cache has doubled since the last sweep, so the
    memory held is bounded by twice the proofs of one window.
    """

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._sweep_at = 1024

    def first_use(self, jti: str, now: float, until: float) -> bool:
        """Record ``jti`` until ``until``; False when it was already recorded."""
        with self._lock:
            expiry = self._seen.get(jti)
            if expiry is not None and expiry > now:
                return False
            self._seen[jti] = until
            if len(self._seen) >= self._sweep_at:
                self._seen = {k: v for k, v in self._seen.items() if v > now}
                self._sweep_at = max(1024, 2 * len(self._seen))
            return True

    def __len__(self) -> int:
        return len(self._seen)


class DPoPVerifier:
    """Checks DPoP proofs as a resource or authorization server must (RFC 9449 §4.3)."""

    def __init__(
        self,
        *,
        algorithms: Collection[str] = ALGORITHMS,
        max_age: float = 300,
        leeway: float = 60,
        clock: Callable[[], float] = time.time,
        replay: ReplayCache | None = None,
    ) -> None:
        """Args:
        algorithms: the accepted ``alg`` values (a subset of ES256, PS256, RS256,
            EdDSA; symmetric algorithms and ``none`` are never accepted).
        max_age: how old (seconds) a proof's ``iat`` may be.
        leeway: how far in the future ``iat`` may be (client clock skew).
        clock: epoch seconds.
        replay: the ``jti`` memory; share one across verifiers of one server.

        Raises:
            ValueError: an algorithm outside :data:`~tokensmith.protocol.dpop.ALGORITHMS`.
        """
        unknown = set(algorithms) - set(ALGORITHMS)
        if unknown or not algorithms:
            raise ValueError(f"DPoP algorithms must be among {', '.join(ALGORITHMS)}")
        self.algorithms = tuple(a for a in ALGORITHMS if a in algorithms)
        self._max_age = float(max_age)
        self._leeway = float(leeway)
        self._clock = clock
        self._replay = replay if replay is not None else ReplayCache()
        self._keys: dict[str, Any] = {}  # the exact JWK text -> its public key object

    def verify(
        self,
        proofs: str | Sequence[str] | None,
        *,
        method: str,
        url: str,
        access_token: str | None = None,
        jkt: str | None = None,
        nonce: str | Collection[str] | None = None,
    ) -> VerifiedProof:
        """Check the ``DPoP`` header value(s) of one request.

        Args:
            proofs: every ``DPoP`` header value of the request (a list when the
                framework keeps repeated headers apart), or None when absent.
            method: the request's HTTP method.
            url: the request's full URL as the server sees it.
            access_token: the token of ``Authorization: DPoP``, when one came.
            jkt: the token's ``cnf.jkt``, required with ``access_token``.
            nonce: the nonce (or the currently valid nonces) the server requires.

        Raises:
            DPoPProofError: the first check that failed.
        """
        token = _single(proofs)
        header, claims, signing_input, signature = _parse(token)
        alg = header.get("alg")
        if header.get("typ") != PROOF_TYPE:
            raise _invalid("the proof's typ is not dpop+jwt")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise _invalid("the proof's alg is not an accepted asymmetric algorithm")
        jwk = header.get("jwk")
        if not isinstance(jwk, dict):
            raise _invalid("the proof has no jwk header")
        key = self._key_of(jwk)
        if not verify_signature(signing_input, signature, key, alg):
            raise _invalid("the proof's signature does not verify with its jwk")
        jti, iat = _required_claims(claims)
        if claims["htm"] != method.upper():
            raise _invalid("the proof's htm does not match the request method")
        if not _same_htu(claims["htu"], url):
            raise _invalid("the proof's htu does not match the request URL")
        proof_nonce = _check_nonce(claims.get("nonce"), nonce)
        now = self._clock()
        if iat < now - self._max_age or iat > now + self._leeway:
            raise _invalid("the proof's iat is outside the accepted window")
        key_jkt = thumbprint(jwk)
        _check_binding(claims, access_token, jkt, key_jkt)
        until = iat + self._max_age + self._leeway
        if not self._replay.first_use(f"{key_jkt}:{jti}", now, until):
            raise _invalid("the proof's jti was used before")
        return VerifiedProof(key_jkt, jti, iat, proof_nonce, claims)

    def _key_of(self, jwk: dict[str, Any]) -> Any:
        """The public key of ``jwk``, remembered by its exact text (a client sends the
        same JWK with every proof; building the key object costs as much as half a
        signature check)."""
        text = json.dumps(jwk, sort_keys=True)
        key = self._keys.get(text)
        if key is None:
            try:
                key = public_key_from_jwk(jwk)
            except (ProtocolError, TypeError) as exc:
                raise _invalid(f"the proof's jwk is not usable ({exc})") from None
            if len(self._keys) >= _KEY_MEMO:
                self._keys.clear()
            self._keys[text] = key
        return key


def _single(proofs: str | Sequence[str] | None) -> str:
    values = [proofs] if isinstance(proofs, str) else list(proofs or ())
    if len(values) != 1:
        raise _invalid("the request must carry exactly one DPoP header")
    value = values[0]
    if not isinstance(value, str) or not value.strip():
        raise _invalid("the request must carry exactly one DPoP header")
    if "," in value:  # repeated headers folded into one (RFC 9110 §5.3); a JWT has none
        raise _invalid("the request must carry exactly one DPoP header")
    if len(value) > MAX_PROOF_LENGTH:
        raise _invalid("the DPoP proof is too long")
    return value.strip()


def _parse(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    try:
        return split_compact(token, "the DPoP proof")
    except ProtocolError as exc:
        raise _invalid(str(exc)) from None


def _required_claims(claims: dict[str, Any]) -> tuple[str, float]:
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > _MAX_JTI:
        raise _invalid("the proof has no usable jti")
    for name in ("htm", "htu"):
        if not isinstance(claims.get(name), str):
            raise _invalid(f"the proof has no string {name}")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float) or not math.isfinite(iat):
        raise _invalid("the proof's iat is not a number")
    return jti, float(iat)


def _same_htu(htu: str, url: str) -> bool:
    try:
        return htu_of(htu) == htu_of(url)
    except ValueError:
        return False


def _check_nonce(value: Any, expected: str | Collection[str] | None) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _invalid("the proof's nonce is not a string")
    if expected is None:
        return value
    accepted = {expected} if isinstance(expected, str) else set(expected)
    if value is None:
        raise DPoPProofError("use_dpop_nonce", "the server requires a nonce in the proof")
    if value not in accepted:
        raise DPoPProofError("use_dpop_nonce", "the proof's nonce is not the server's current one")
    return value


def _check_binding(
    claims: dict[str, Any], access_token: str | None, jkt: str | None, key_jkt: str
) -> None:
    if access_token is None:
        if "ath" in claims and not isinstance(claims["ath"], str):
            raise _invalid("the proof's ath is not a string")
        return
    if claims.get("ath") != access_token_hash(access_token):
        raise _invalid("the proof's ath does not match the access token")
    if jkt is None:
        raise DPoPProofError("invalid_token", "the access token is not bound to a DPoP key")
    if jkt != key_jkt:
        raise DPoPProofError("invalid_token", "the access token is bound to another key")
