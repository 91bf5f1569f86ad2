"""The broker's secrets at rest: encrypted under a device key that never leaves the
device (AES-256-GCM; the key in a 0600 file of the broker's state directory, or in the
Secret Service, ``org.freedesktop.secrets``, with ``key_store="secret-service"``).

The vault holds the token cache (refresh tokens included: they are device-bound, the
broker never returns them) and the broker's PoP signing key. Files are written whole
and renamed into place, so a crash leaves the old or the new state, never half.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from tokensmith.errors import ConfigurationError

__all__ = ["Vault"]

_KEY_FILE = "device.key"
_NONCE = 12
_MAGIC = b"tsb1"


class Vault:
    """Encrypted files in ``state_dir``, under the device key (created on first use):
    ``state_dir/device.key`` (mode 0600; the directory 0700), or an item of the
    Secret Service's default keyring (``key_store="secret-service"``).

    Raises:
        ValueError: the key file is not 32 bytes, or is readable by others.
        StoreUnavailableError: ``"secret-service"`` without a Secret Service.
    """

    def __init__(self, state_dir: Path, key_store: str = "file") -> None:
        self.state_dir = state_dir
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if key_store == "file":
            self._key = _device_key(state_dir / _KEY_FILE)
        elif key_store == "secret-service":
            self._key = _keyring_key(state_dir)
        else:
            raise ConfigurationError("key_store must be 'file' or 'secret-service'")

    def read(self, name: str) -> bytes | None:
        """The decrypted content of ``name``, or None if it does not exist.

        Raises:
            ValueError: the file was not written under this device key, or was altered.
        """
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        path = self.state_dir / name
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            return None
        if not blob.startswith(_MAGIC) or len(blob) < len(_MAGIC) + _NONCE + 16:
            raise ConfigurationError(f"{path} is not a broker vault file")
        nonce = blob[len(_MAGIC) : len(_MAGIC) + _NONCE]
        try:
            return AESGCM(self._key).decrypt(nonce, blob[len(_MAGIC) + _NONCE :], name.encode())
        except InvalidTag:
            raise ConfigurationError(f"{path} was not written under this device key") from None

    def write(self, name: str, data: bytes) -> None:
        """Encrypt ``data`` into ``name`` (0600), replacing it atomically."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(_NONCE)
        blob = _MAGIC + nonce + AESGCM(self._key).encrypt(nonce, data, name.encode())
        path = self.state_dir / name
        part = path.with_name(path.name + ".part")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(part, path)


def _keyring_key(state_dir: Path) -> bytes:
    """The device key as an item of the Secret Service (the stores' medium: the
    libsecret layout, a signal file beside the vault)."""
    from tokensmith.stores.secretservice import SecretServiceMedium

    medium = SecretServiceMedium(
        state_dir / "device.key.signal",
        schema_name="org.tokensmith.Broker.DeviceKey",
        attributes={"application": "tokensmith-broker", "state": str(state_dir)},
        label="tokensmith broker device key",
    )
    try:
        text = medium.read()
        if text is None:
            text = secrets.token_hex(32)
            medium.write(text)
        key = bytes.fromhex(text)
    finally:
        medium.close()
    if len(key) != 32:
        raise ConfigurationError("the Secret Service's broker device key is not 32 bytes")
    return key


def _existing_key(path: Path) -> bytes:
    if path.stat().st_mode & 0o077:
        raise ConfigurationError(f"{path} must be readable by its owner only (chmod 600)")
    key = path.read_bytes()
    if len(key) != 32:
        raise ConfigurationError(f"{path} is not a 32-byte device key")
    return key


def _device_key(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _existing_key(path)
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key
