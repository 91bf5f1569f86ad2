"""The open broker's secrets at rest (tokensmith.brokerd.vault)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokensmith.brokerd.vault import Vault


def test_round_trip_encrypted_and_owner_only(tmp_path: Path) -> None:
    vault = Vault(tmp_path / "state")
    vault.write("tokens", b'{"RefreshToken": "rt-secret"}')
    assert vault.read("tokens") == b'{"RefreshToken": "rt-secret"}'
    assert b"rt-secret" not in (tmp_path / "state" / "tokens").read_bytes()
    for name in ("tokens", "device.key"):
        assert (tmp_path / "state" / name).stat().st_mode & 0o777 == 0o600
    assert Vault(tmp_path / "state").read("tokens") is not None  # the same device key
    assert vault.read("missing") is None


def test_another_device_key_cannot_read_it(tmp_path: Path) -> None:
    Vault(tmp_path / "a").write("tokens", b"x")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "tokens").write_bytes((tmp_path / "a" / "tokens").read_bytes())
    with pytest.raises(ValueError, match="device key"):
        Vault(tmp_path / "b").read("tokens")


def test_a_tampered_or_renamed_file_is_refused(tmp_path: Path) -> None:
    vault = Vault(tmp_path)
    vault.write("tokens", b"x")
    path = tmp_path / "tokens"
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 1
    path.write_bytes(bytes(blob))
    with pytest.raises(ValueError):
        vault.read("tokens")
    vault.write("tokens", b"x")
    (tmp_path / "other").write_bytes(path.read_bytes())
    with pytest.raises(ValueError):  # the name is authenticated too
        vault.read("other")


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    Vault(tmp_path)
    (tmp_path / "device.key").chmod(0o644)
    with pytest.raises(ValueError, match="chmod 600"):
        Vault(tmp_path)
