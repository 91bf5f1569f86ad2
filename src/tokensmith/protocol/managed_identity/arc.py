"""Azure Arc's identity endpoint (the ``himds`` agent on a connected machine).

Docs: learn.microsoft.com/azure/azure-arc/servers/managed-identity-authentication
(reference/entra-protocol.md §10). The first ``GET ?api-version=2020-06-01`` with
``Metadata: true`` is answered 401 with ``WWW-Authenticate: Basic realm=<key file>``;
the client reads that key file (only from the agent's token directory, only a
``.key`` file, at most :data:`MAX_KEY_BYTES`) and repeats the request with
``Authorization: Basic <file content>``. A user-assigned identity's token must echo the
requested id, or the agent ignored the selector (fail closed, as MSAL 1.39 does).
"""

from __future__ import annotations

import ntpath
import posixpath
from collections.abc import Mapping
from typing import Any

from tokensmith.protocol.http import HttpRequest, HttpResponse, header
from tokensmith.protocol.managed_identity._payload import json_payload, token_result
from tokensmith.protocol.managed_identity.identity import (
    CLIENT_ID,
    ID,
    ID_TYPE,
    OBJECT_ID,
    RESOURCE_ID,
    ArcPlatformNotSupportedError,
    ManagedIdentityError,
    is_user_assigned,
    selector_params,
)

__all__ = [
    "API_VERSION",
    "KEY_DIRECTORIES",
    "MAX_KEY_BYTES",
    "SELECTORS",
    "check_echo",
    "key_file_path",
    "not_challenged",
    "parse",
    "request",
]

API_VERSION = "2020-06-01"
SELECTORS = {CLIENT_ID: "client_id", RESOURCE_ID: "msi_res_id", OBJECT_ID: "object_id"}
MAX_KEY_BYTES = 4096
KEY_DIRECTORIES = {
    "linux": "/var/opt/azcmagent/tokens",
    "win32": r"%ProgramData%\AzureConnectedMachineAgent\Tokens",
}
"""Where the agent writes its key files, by platform (Windows' before ``expandvars``)."""
_ECHOES = {
    CLIENT_ID: ("client_id",),
    OBJECT_ID: ("object_id",),
    RESOURCE_ID: ("msi_res_id", "mi_res_id"),
}


def request(
    endpoint: str, identity: Mapping[str, Any], resource: str, *, key: str | None = None
) -> HttpRequest:
    """The first request (``key`` None) or the second, answering the challenge."""
    params = {"api-version": API_VERSION, "resource": resource}
    params.update(selector_params(identity, SELECTORS))
    headers = {"Metadata": "true"}
    if key is not None:
        headers["Authorization"] = f"Basic {key}"
    return HttpRequest("GET", endpoint, params=params, headers=headers)


def key_file_path(response: HttpResponse, *, platform: str, directory: str | None) -> str:
    """The key file the 401 challenge names, inside the agent's directory.

    Only the file's name is taken from the challenge: the directory is the agent's
    (``directory``, else :data:`KEY_DIRECTORIES`), and the suffix is ``.key``.

    Raises:
        ManagedIdentityError: no ``Basic realm=`` challenge.
        ArcPlatformNotSupportedError: no key directory is known for ``platform``.
    """
    challenge = (header(response.headers, "www-authenticate") or "").split("=")
    if len(challenge) != 2 or challenge[0].strip().lower() != "basic realm":
        raise ManagedIdentityError("Unrecognizable WWW-Authenticate header from Azure Arc")
    if directory is None:
        directory = KEY_DIRECTORIES.get(platform)
        if directory is None:
            raise ArcPlatformNotSupportedError(f"Platform {platform} was undefined and unsupported")
    paths = ntpath if platform == "win32" else posixpath
    name = paths.splitext(ntpath.basename(posixpath.basename(challenge[1].strip())))[0]
    if not name or name in (".", ".."):
        raise ManagedIdentityError("Azure Arc's challenge names no key file")
    return str(paths.join(directory, name + ".key"))


def check_echo(identity: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
    """Fail closed when a user-assigned identity's token does not name that identity.

    Raises:
        ManagedIdentityError: the echo is missing or differs (case-insensitively).
    """
    if not is_user_assigned(identity):
        return
    names = _ECHOES.get(identity.get(ID_TYPE) or "", ())
    echoed = next((payload[n] for n in names if payload.get(n)), None)
    if not echoed or str(echoed).lower() != str(identity.get(ID)).lower():
        raise ManagedIdentityError(
            "Azure Arc did not confirm the requested user-assigned managed identity "
            "in the token response. The agent likely does not support user-assigned "
            "managed identities and returned the system-assigned identity."
        )


def parse(response: HttpResponse, identity: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised token of the second answer, or ``invalid_request`` with its body.

    Raises:
        ManagedIdentityError: a user-assigned identity was not confirmed.
    """
    try:
        payload = json_payload(response)
    except ValueError:
        payload = {}
    if payload.get("access_token") and payload.get("expires_in"):
        check_echo(identity, payload)
        return token_result(payload, payload["expires_in"])
    return {"error": "invalid_request", "error_description": response.text}


def not_challenged(response: HttpResponse) -> dict[str, Any]:
    """The error of a first answer that is not the 401 challenge."""
    return {"error": "invalid_request", "error_description": response.text}
