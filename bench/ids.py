"""The bench tenant's identifiers and the discovery documents its fake identity
provider serves.

No imports: the fresh-process probes (``bench.probe``, ``bench.storeprobe``) use this
module, and a probe must time the library, not the harness.
"""

from __future__ import annotations

__all__ = [
    "AUTHORITY",
    "CLIENT_ID",
    "ENVIRONMENT",
    "TENANT_ID",
    "TOKEN_ENDPOINT",
    "discovery_answer",
    "discovery_document",
    "instance_metadata",
]

TENANT_ID = "5f0c7a1e-2b3d-4c5e-8f90-a1b2c3d4e5f6"
CLIENT_ID = "0c6b2d7e-1a2b-4c3d-9e8f-123456789abc"
ENVIRONMENT = "login.microsoftonline.com"
AUTHORITY = f"https://{ENVIRONMENT}/{TENANT_ID}"
TOKEN_ENDPOINT = f"{AUTHORITY}/oauth2/v2.0/token"


def discovery_document(tenant: str) -> dict[str, object]:
    """The OpenID configuration of ``tenant`` on the bench host."""
    base = f"https://{ENVIRONMENT}/{tenant}"
    return {
        "issuer": f"{base}/v2.0",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "jwks_uri": f"https://{ENVIRONMENT}/{tenant}/discovery/v2.0/keys",
        "response_types_supported": ["code", "id_token", "code id_token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "tenant_region_scope": "NA",
    }


def instance_metadata() -> dict[str, object]:
    """Entra's instance discovery answer for the bench host and its aliases."""
    aliases = [ENVIRONMENT, "login.windows.net", "login.microsoft.com", "sts.windows.net"]
    return {
        "tenant_discovery_endpoint": (
            f"https://{ENVIRONMENT}/{TENANT_ID}/v2.0/.well-known/openid-configuration"
        ),
        "api-version": "1.1",
        "metadata": [
            {
                "preferred_network": ENVIRONMENT,
                "preferred_cache": "login.windows.net",
                "aliases": aliases,
            }
        ],
    }


def discovery_answer(path: str) -> dict[str, object] | None:
    """The document the bench host serves at URL ``path``: a tenant's OpenID
    configuration or the instance discovery answer; None for any other path."""
    segments = [s for s in path.split("/") if s]
    if segments[-2:] == [".well-known", "openid-configuration"]:
        return discovery_document(segments[0])
    if segments[-2:] == ["discovery", "instance"]:
        return instance_metadata()
    return None
