"""Who the command line signs in as and where: flags, environment, profile, defaults.

Each setting is taken from the first of these that has it:

1. the command-line flag (``--client-id``, ``--authority``, ``--tenant``, ``--scope``,
   ``--resource``, ``--ca-bundle``, ``--cache``, ``--username``, ``--certificate``);
2. the environment: ``TOKENSMITH_CLIENT_ID``, ``TOKENSMITH_AUTHORITY``,
   ``TOKENSMITH_TENANT``, ``TOKENSMITH_SCOPE`` (space-separated),
   ``TOKENSMITH_RESOURCE``, ``TOKENSMITH_CA_BUNDLE``, ``TOKENSMITH_CACHE``,
   ``TOKENSMITH_USERNAME``, ``TOKENSMITH_CERTIFICATE``; secrets only from here:
   ``TOKENSMITH_CLIENT_SECRET``, ``TOKENSMITH_CERTIFICATE_PASSWORD``;
3. the profile (``--profile`` / ``TOKENSMITH_PROFILE``, else ``default``): the table
   ``[profiles.<name>]`` of ``$XDG_CONFIG_HOME/tokensmith/config.toml`` with the same
   names in lower case (``client_id``, ``authority``, ``tenant``, ``scopes`` (a list),
   ``resource``, ``ca_bundle``, ``cache``, ``username``, ``certificate``); the built-in
   profile ``dev-idp`` points at the ``tokensmith dev-idp`` running on this machine;
4. the defaults: authority ``https://login.microsoftonline.com/organizations``, the
   cache file of :mod:`tokensmith.cli.store`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokensmith.cli import devidp_record
from tokensmith.cli.store import default_cache_path
from tokensmith.cli.xdg import config_home
from tokensmith.errors import ConfigurationError

__all__ = ["DEFAULT_AUTHORITY", "Settings", "add_arguments", "config_path", "resolve"]

DEFAULT_AUTHORITY = "https://login.microsoftonline.com/organizations"
_KEYS = (
    "client_id",
    "authority",
    "tenant",
    "scopes",
    "resource",
    "ca_bundle",
    "cache",
    "username",
    "certificate",
)
_ENV_ONLY = {"client_secret": "TOKENSMITH_CLIENT_SECRET"}
_CERT_PASSWORD_ENV = "TOKENSMITH_CERTIFICATE_PASSWORD"


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one command run (secrets are not in the repr)."""

    profile: str
    client_id: str | None
    authority: str
    scopes: tuple[str, ...]
    ca_bundle: str | None
    cache_path: Path
    username: str | None
    certificate: str | None
    client_secret: str | None = None
    certificate_password: str | None = None

    def __repr__(self) -> str:
        return f"Settings(profile={self.profile!r}, client_id={self.client_id!r}, ...)"

    @property
    def verify(self) -> bool | str:
        """``verify=`` for the application: the CA bundle, or the system's CAs."""
        return self.ca_bundle or True

    @property
    def confidential(self) -> bool:
        """Whether a client secret or certificate makes this a confidential client."""
        return bool(self.client_secret or self.certificate)


def config_path() -> Path:
    """``$XDG_CONFIG_HOME/tokensmith/config.toml`` (``~/.config/...``)."""
    return config_home() / "config.toml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags every command that talks to an identity provider accepts."""
    group = parser.add_argument_group("who and where (flags > TOKENSMITH_* > profile)")
    group.add_argument("--profile", help="profile of config.toml, or dev-idp (built in)")
    group.add_argument("--client-id", help="the app's client id")
    group.add_argument("--authority", help=f"authority URL (default {DEFAULT_AUTHORITY})")
    group.add_argument("--tenant", help="tenant GUID or domain, in place of the authority's")
    group.add_argument(
        "--scope",
        action="append",
        dest="scopes",
        metavar="SCOPE",
        help="scope of the token (repeatable)",
    )
    group.add_argument("--resource", help="a resource: asks for its RESOURCE/.default scope")
    group.add_argument("--ca-bundle", help="PEM file of CAs to trust (default: the system's)")
    group.add_argument("--cache", help="token cache file (MSAL format)")
    group.add_argument("--username", help="pick the cached account with this username")
    group.add_argument(
        "--certificate",
        help="PEM or PFX client certificate (password in TOKENSMITH_CERTIFICATE_PASSWORD)",
    )


def resolve(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Settings:
    """Merge flags, environment, profile and defaults (see the module doc).

    Raises:
        ConfigurationError: an unreadable or invalid config.toml, an unknown profile,
            or the dev-idp profile without a running dev IdP.
    """
    env = os.environ if environ is None else environ
    profile = getattr(args, "profile", None) or env.get("TOKENSMITH_PROFILE") or "default"
    merged: dict[str, Any] = dict(_profile(profile))
    for key in _KEYS:
        value = env.get(f"TOKENSMITH_{key.upper()}" if key != "scopes" else "TOKENSMITH_SCOPE")
        if value:
            merged[key] = value.split() if key == "scopes" else value
        flag = getattr(args, key, None)
        if flag:
            merged[key] = [s for text in flag for s in text.split()] if key == "scopes" else flag
    authority = _with_tenant(str(merged.get("authority") or DEFAULT_AUTHORITY), merged)
    scopes = tuple(merged.get("scopes") or ())
    if merged.get("resource") and not getattr(args, "scopes", None):
        scopes = (str(merged["resource"]) + "/.default",)
    cache = merged.get("cache")
    return Settings(
        profile=profile,
        client_id=merged.get("client_id"),
        authority=authority,
        scopes=scopes,
        ca_bundle=str(Path(merged["ca_bundle"]).expanduser()) if merged.get("ca_bundle") else None,
        cache_path=Path(cache).expanduser().absolute() if cache else default_cache_path(),
        username=merged.get("username"),
        certificate=merged.get("certificate"),
        client_secret=env.get(_ENV_ONLY["client_secret"]) or None,
        certificate_password=env.get(_CERT_PASSWORD_ENV) or None,
    )


def _with_tenant(authority: str, merged: Mapping[str, Any]) -> str:
    tenant = merged.get("tenant")
    if not tenant:
        return authority
    scheme, sep, rest = authority.partition("://")
    host = rest.split("/", 1)[0]
    if not sep or not host:
        raise ConfigurationError(f"--tenant needs an authority URL, not {authority!r}")
    return f"{scheme}://{host}/{tenant}"


def _profile(name: str) -> Mapping[str, Any]:
    if name == devidp_record.PROFILE:
        return devidp_record.profile()
    path = config_path()
    if not path.exists():
        if name != "default":
            raise ConfigurationError(f"profile {name!r}: there is no {path}")
        return {}
    profiles = _read_profiles(path)
    if name not in profiles:
        if name == "default":
            return {}
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigurationError(f"{path} has no [profiles.{name}] (profiles: {known})")
    table = profiles[name]
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise ConfigurationError(f"{path} [profiles.{name}]: unknown key(s) {', '.join(unknown)}")
    for key, value in table.items():
        ok = isinstance(value, list) if key == "scopes" else isinstance(value, str)
        if not ok or (key == "scopes" and not all(isinstance(s, str) for s in value)):
            kind = "a list of strings" if key == "scopes" else "a string"
            raise ConfigurationError(f"{path} [profiles.{name}]: '{key}' must be {kind}")
    return table


def _read_profiles(path: Path) -> Mapping[str, Mapping[str, Any]]:
    from tokensmith.devidp import _toml

    try:
        data = _toml.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"{path} is not UTF-8 text") from None
    except _toml.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}") from None
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise ConfigurationError(f"{path}: 'profiles' must hold tables ([profiles.<name>])")
    return profiles
