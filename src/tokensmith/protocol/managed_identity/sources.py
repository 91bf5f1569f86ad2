"""Where a managed identity's tokens come from, decided from the environment as MSAL
Python 1.39 decides it (reference/entra-protocol.md §10), first match wins:

=====================  ==================================================================
source                 when
=====================  ==================================================================
``SERVICE_FABRIC``     ``IDENTITY_ENDPOINT`` + ``IDENTITY_HEADER`` + ``IDENTITY_SERVER_THUMBPRINT``
``APP_SERVICE``        ``IDENTITY_ENDPOINT`` + ``IDENTITY_HEADER`` (also Functions, Automation)
``MACHINE_LEARNING``   ``MSI_ENDPOINT`` + ``MSI_SECRET``
``AZURE_ARC``          ``IDENTITY_ENDPOINT`` + ``IMDS_ENDPOINT``, or the Arc agent installed
``CLOUD_SHELL``        ``AZUREPS_HOST_ENVIRONMENT`` starts with ``cloud-shell``
``DEFAULT_TO_VM``      otherwise: the VM's IMDS (``AZURE_POD_IDENTITY_AUTHORITY_HOST``
                       overrides its host)
=====================  ==================================================================

:func:`detect` is a pure function of an environment mapping, the platform name and a
file-existence probe (for the Arc agent), so every row is testable without a host.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "APP_SERVICE",
    "AZURE_ARC",
    "CLOUD_SHELL",
    "DEFAULT_TO_VM",
    "ENVIRONMENT_VARIABLES",
    "MACHINE_LEARNING",
    "SERVICE_FABRIC",
    "Source",
    "SourceKind",
    "detect",
]


class SourceKind:
    """One of the sentinels :func:`detect` returns (compare with ``is``, as MSAL's)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<managed identity source {self.name}>"


APP_SERVICE = SourceKind("APP_SERVICE")
AZURE_ARC = SourceKind("AZURE_ARC")
CLOUD_SHELL = SourceKind("CLOUD_SHELL")
MACHINE_LEARNING = SourceKind("MACHINE_LEARNING")
SERVICE_FABRIC = SourceKind("SERVICE_FABRIC")
DEFAULT_TO_VM = SourceKind("DEFAULT_TO_VM")

IMDS_HOST = "http://169.254.169.254"
ARC_DEFAULT_ENDPOINT = "http://localhost:40342/metadata/identity/oauth2/token"
CLOUD_SHELL_DEFAULT_ENDPOINT = "http://localhost:50342/oauth2/token"
IMDS_PATH = "/metadata/identity/oauth2/token"

ENVIRONMENT_VARIABLES = (
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZUREPS_HOST_ENVIRONMENT",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
)
"""Every variable :func:`detect` reads: a process without them (and with
``AZURE_POD_IDENTITY_AUTHORITY_HOST`` pointed at a stand-in) is cut off from its
host's managed identity, as tests, the bench and the demo are."""

_ARC_AGENT = {
    "linux": "/opt/azcmagent/bin/himds",
    "win32": r"${ProgramFiles}\AzureConnectedMachineAgent\himds.exe",
}
"""Where the Arc agent (``himds``) is installed, by platform (before ``expandvars``)."""


@dataclass(frozen=True, slots=True)
class Source:
    """A detected source and what its requests need.

    Attributes:
        kind: one of the sentinels.
        endpoint: the token URL.
        secret: the header secret (``IDENTITY_HEADER`` or ``MSI_SECRET``), if any.
        thumbprint: Service Fabric's ``IDENTITY_SERVER_THUMBPRINT``, as given.
    """

    kind: SourceKind
    endpoint: str
    secret: str | None = None
    thumbprint: str | None = None

    def __repr__(self) -> str:  # the secret never appears
        return f"Source({self.kind.name}, {self.endpoint!r})"


def detect(
    environ: Mapping[str, str],
    *,
    platform: str,
    exists: Callable[[str], bool],
    expandvars: Callable[[str], str] = lambda path: path,
) -> Source:
    """The source of this environment (see the module doc)."""
    identity_endpoint = environ.get("IDENTITY_ENDPOINT")
    identity_header = environ.get("IDENTITY_HEADER")
    if identity_endpoint is not None and identity_header is not None:
        thumbprint = environ.get("IDENTITY_SERVER_THUMBPRINT")
        kind = APP_SERVICE if thumbprint is None else SERVICE_FABRIC
        return Source(kind, identity_endpoint, identity_header, thumbprint)
    if "MSI_ENDPOINT" in environ and "MSI_SECRET" in environ:
        return Source(MACHINE_LEARNING, environ["MSI_ENDPOINT"], environ["MSI_SECRET"])
    if identity_endpoint is not None and "IMDS_ENDPOINT" in environ:
        return Source(AZURE_ARC, identity_endpoint)
    agent = _ARC_AGENT.get(platform)
    if agent is not None and exists(expandvars(agent)):
        return Source(AZURE_ARC, ARC_DEFAULT_ENDPOINT)
    if environ.get("AZUREPS_HOST_ENVIRONMENT", "").startswith("cloud-shell"):
        return Source(CLOUD_SHELL, environ.get("MSI_ENDPOINT") or CLOUD_SHELL_DEFAULT_ENDPOINT)
    host = environ.get("AZURE_POD_IDENTITY_AUTHORITY_HOST", IMDS_HOST).strip("/")
    return Source(DEFAULT_TO_VM, host + IMDS_PATH)
