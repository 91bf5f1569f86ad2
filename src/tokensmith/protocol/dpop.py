"""DPoP proofs, client side (RFC 9449 §4): the key, the proof JWT, the server nonces.

A :class:`DPoPKey` holds the private key a client proves possession of. Its proof
header (``typ`` ``dpop+jwt``, ``alg``, the public ``jwk``) is encoded once; each
:meth:`DPoPKey.proof` adds a fresh ``jti``, ``htm``, ``htu`` (the target URI without
query and fragment, §4.2), ``iat`` and, when given, ``nonce`` (§8, §9) and ``ath``
(the SHA-256 of the access token, §4.2) and signs. :class:`NonceStore` keeps the
newest ``DPoP-Nonce`` a server gave, per origin (§8.2: authorization and resource
servers have separate nonces). Nothing here does I/O.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from tokensmith._jwt import b64url_encode
from tokensmith.errors import ConfigurationError
from tokensmith.protocol.http import header
from tokensmith.protocol.jwk import public_jwk, thumbprint
from tokensmith.protocol.jws import sign_bytes

if TYPE_CHECKING:
    from tokensmith.protocol.jws import PrivateKey

__all__ = [
    "ALGORITHMS",
    "PROOF_TYPE",
    "DPoPKey",
    "NonceStore",
    "access_token_hash",
    "htu_of",
    "origin_of",
]

ALGORITHMS = ("ES256", "EdDSA", "PS256", "RS256")
"""The proof algorithms tokensmith signs with, in the order it prefers them (small
and fast keys first: a new RSA key costs tens of milliseconds)."""

PROOF_TYPE = "dpop+jwt"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@functools.lru_cache(maxsize=512)
def htu_of(url: str) -> str:
    """The ``htu`` of a request to ``url``: scheme and host lower-cased, the default
    port dropped, query and fragment removed (RFC 9449 §4.2, RFC 3986 §6.2.2-6.2.3).
    Remembered for the last 512 URLs (a client proves the same few endpoints).

    Raises:
        ValueError: ``url`` is not an absolute http(s) URL.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError("a DPoP target must be an absolute http(s) URL")
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


@functools.lru_cache(maxsize=512)
def origin_of(url: str) -> str:
    """The origin (``scheme://host[:port]``) a server nonce belongs to."""
    parts = urlsplit(htu_of(url))
    return f"{parts.scheme}://{parts.netloc}"


def access_token_hash(access_token: str) -> str:
    """The ``ath`` claim: base64url(SHA-256(ASCII access token)) (RFC 9449 §4.2).

    A token is ASCII; one that is not (hostile input at a resource) is hashed as UTF-8,
    which can never match a proof's ``ath`` for a real token, instead of raising.
    """
    return b64url_encode(hashlib.sha256(access_token.encode("utf-8")).digest())


def _default_alg(key: PrivateKey) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ES256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    if isinstance(key, rsa.RSAPrivateKey):
        return "PS256"
    raise ConfigurationError("a DPoP key must be EC P-256, RSA or Ed25519")


class DPoPKey:
    """A private key that signs DPoP proofs (and PoP requests).

    Attributes:
        alg: the JWS algorithm of the proofs.
        jwk: the public JWK put in every proof header.
        jkt: the key's RFC 7638 thumbprint (``cnf.jkt`` of the tokens bound to it).

    The repr names the algorithm and the thumbprint, never the key.
    """

    __slots__ = ("_header", "_key", "alg", "jkt", "jwk")

    def __init__(self, private_key: PrivateKey, alg: str | None = None) -> None:
        """Wrap ``private_key`` (a ``cryptography`` private key object).

        Raises:
            ValueError: the key type is not supported or does not fit ``alg``.
        """
        alg = alg or _default_alg(private_key)
        if alg not in ALGORITHMS:
            raise ConfigurationError(f"DPoP alg must be one of {', '.join(ALGORITHMS)}")
        try:
            sign_bytes(b"probe", private_key, alg)
            jwk = public_jwk(private_key)
        except ValueError as exc:
            raise ConfigurationError(f"the DPoP key does not fit {alg}: {exc}") from None
        self._key = private_key
        self.alg = alg
        self.jwk = jwk
        self.jkt = thumbprint(jwk)
        head = {"typ": PROOF_TYPE, "alg": alg, "jwk": jwk}
        self._header = b64url_encode(json.dumps(head, separators=(",", ":")).encode("ascii"))

    @classmethod
    def generate(cls, alg: str = "ES256") -> DPoPKey:
        """A new key for ``alg`` (P-256 for ES256, 2048-bit RSA for PS256/RS256,
        Ed25519 for EdDSA).

        Raises:
            ValueError: ``alg`` is not one of :data:`ALGORITHMS`.
        """
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

        key: PrivateKey
        if alg == "ES256":
            key = ec.generate_private_key(ec.SECP256R1())
        elif alg in ("PS256", "RS256"):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif alg == "EdDSA":
            key = ed25519.Ed25519PrivateKey.generate()
        else:
            raise ConfigurationError(f"DPoP alg must be one of {', '.join(ALGORITHMS)}")
        return cls(key, alg)

    @classmethod
    def from_pem(cls, pem: str | bytes, alg: str | None = None) -> DPoPKey:
        """Load an unencrypted PKCS#8 (or traditional) PEM private key.

        Raises:
            ValueError: not a PEM private key of a supported type.
        """
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        data = pem.encode("ascii") if isinstance(pem, str) else pem
        try:
            key = load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError("the DPoP key is not an unencrypted PEM private key") from exc
        return cls(key, alg)  # type: ignore[arg-type]

    def private_pem(self) -> str:
        """The private key as unencrypted PKCS#8 PEM, for storing it with the cache."""
        from cryptography.hazmat.primitives import serialization

        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    def sign(self, signing_input: bytes) -> bytes:
        """The JWS signature of ``signing_input`` with this key and :attr:`alg`."""
        return sign_bytes(signing_input, self._key, self.alg)

    def proof(
        self,
        htm: str,
        htu: str,
        *,
        now: float,
        nonce: str | None = None,
        access_token: str | None = None,
    ) -> str:
        """A fresh proof for one request (RFC 9449 §4.2).

        Args:
            htm: the HTTP method (``POST`` for the token endpoint).
            htu: the request URL (query and fragment are removed here).
            now: epoch seconds, the proof's ``iat``.
            nonce: the server's newest ``DPoP-Nonce`` for this origin, if any.
            access_token: the token presented with the request (adds ``ath``).
        """
        claims: dict[str, object] = {
            "jti": secrets.token_urlsafe(16),
            "htm": htm.upper(),
            "htu": htu_of(htu),
            "iat": int(now),
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        payload = b64url_encode(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
        signing_input = f"{self._header}.{payload}"
        signature = b64url_encode(self.sign(signing_input.encode("ascii")))
        return f"{signing_input}.{signature}"

    def __repr__(self) -> str:
        return f"DPoPKey(alg={self.alg!r}, jkt={self.jkt!r})"


class NonceStore:
    """The newest ``DPoP-Nonce`` each origin sent (RFC 9449 §8.2, §9), thread-safe."""

    def __init__(self) -> None:
        self._nonces: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> str | None:
        """The nonce to put in a proof for a request to ``url``, if the server gave one."""
        return self._nonces.get(origin_of(url))

    def update(self, url: str, headers: Mapping[str, str]) -> bool:
        """Remember the ``DPoP-Nonce`` of a response from ``url``.

        Returns:
            True when the response carried a nonce different from the one kept.
        """
        value = header(headers, "dpop-nonce")
        if not value or not _is_nonce(value):
            return False
        origin = origin_of(url)
        with self._lock:
            changed = self._nonces.get(origin) != value
            self._nonces[origin] = value
        return changed


def _is_nonce(value: str) -> bool:
    """``nonce = 1*NQCHAR`` (RFC 9449 §8.1): visible ASCII without ``"`` and ``\\``."""
    return len(value) <= 4096 and all(0x21 <= ord(c) <= 0x7E and c not in '"\\' for c in value)
