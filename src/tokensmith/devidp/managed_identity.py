"""Every managed-identity token source on loopback, with its quirks
(reference/entra-protocol.md §10): point a client's environment variables at the dev
IdP (``DevIdP.managed_identity_environment(source)``) and it gets a signed token.

==============================================  ==========================================
path                                            source
==============================================  ==========================================
``/metadata/identity/oauth2/token``             VM IMDS (``AZURE_POD_IDENTITY_AUTHORITY_HOST``)
``/msi/token``                                  App Service (``IDENTITY_ENDPOINT``)
``/sf/metadata/identity/oauth2/token``          Service Fabric (the TLS cert's thumbprint)
``/arc/metadata/identity/oauth2/token``         Azure Arc (401 challenge, key file)
``/ml/msi/token``                               Azure Machine Learning (``MSI_ENDPOINT``)
``/cloudshell/oauth2/token``                    Cloud Shell (POST)
==============================================  ==========================================

Each checks its own header, api-version and selector names, and answers errors in its
own shape. The identities are the configuration's ``[[managed_identities]]``
(:class:`~tokensmith.devidp.config.ManagedIdentity`; docs/dev-idp.md).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tokensmith.devidp.config import ManagedIdentity
from tokensmith.devidp.context import Context
from tokensmith.devidp.jws import sign_rs256
from tokensmith.devidp.wire import Request, Response, json_response

__all__ = [
    "APP_SERVICE_SECRET",
    "ML_SECRET",
    "PATHS",
    "SERVICE_FABRIC_SECRET",
    "arc_key_directory",
    "handle",
]

APP_SERVICE_SECRET = "dev-app-service-identity-header"
SERVICE_FABRIC_SECRET = "dev-service-fabric-secret"
ML_SECRET = "dev-machine-learning-secret"


def _find(ctx: Context, selectors: dict[str, str | None]) -> ManagedIdentity | None:
    """The configured identity a request names (the system-assigned one when it names
    none), or None."""
    return ctx.config.managed_identity(**selectors)


def _selectors(req: Request, client: str, resource: str) -> dict[str, str | None]:
    return {
        "client_id": req.query.get(client),
        "object_id": req.query.get("object_id") or req.query.get("principal_id"),
        "resource_id": req.query.get(resource) or req.query.get("mi_res_id"),
    }


def _token(ctx: Context, identity: ManagedIdentity, resource: str) -> tuple[str, int, int]:
    now = int(ctx.clock())
    lifetime = ctx.config.settings.long_lived_token_lifetime
    claims = {
        "aud": resource,
        "iss": f"https://sts.windows.net/{identity.tenant}/",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "appid": identity.client_id,
        "oid": identity.object_id,
        "sub": identity.object_id,
        "tid": identity.tenant,
        "xms_mirid": identity.resource_id,
        "idtyp": "app",
        "ver": "1.0",
    }
    return sign_rs256(claims, ctx.keys.signing_key, ctx.keys.kid), now, lifetime


def _resource(req: Request) -> str:
    return req.query.get("resource") or req.form.get("resource") or ""


def imds(ctx: Context, req: Request) -> Response:
    """The VM's IMDS: ``Metadata: true``, api-version 2018-02-01, ``msi_res_id``."""
    if req.headers.get("metadata") != "true":
        return _imds_error("invalid_request", "Required metadata header not specified", 400)
    if req.query.get("api-version") != "2018-02-01":
        return _imds_error("invalid_request", "Invalid or missing api-version", 400)
    return _imds_like(ctx, req, "msi_res_id", echo=False)


def _imds_like(ctx: Context, req: Request, res_name: str, *, echo: bool) -> Response:
    resource = _resource(req)
    if not resource:
        return _imds_error("invalid_resource", "AADSTS50001: resource is required", 400)
    identity = _find(ctx, _selectors(req, "client_id", res_name))
    if identity is None:
        return _imds_error("invalid_request", "Identity not found", 400)
    token, now, lifetime = _token(ctx, identity, resource)
    body: dict[str, Any] = {
        "access_token": token,
        "refresh_token": "",
        "expires_in": str(lifetime),
        "expires_on": str(now + lifetime),
        "not_before": str(now),
        "resource": resource,
        "token_type": "Bearer",
    }
    if echo and not identity.system_assigned:
        body.update(client_id=identity.client_id, object_id=identity.object_id)
        body["msi_res_id"] = identity.resource_id
    return json_response(body)


def _imds_error(error: str, description: str, status: int) -> Response:
    return json_response({"error": error, "error_description": description}, status)


def app_service(ctx: Context, req: Request) -> Response:
    """App Service: ``X-IDENTITY-HEADER``, api-version 2019-08-01, ``mi_res_id``,
    ``expires_on`` only; errors ``{statusCode, message}``."""
    if req.headers.get("x-identity-header") != APP_SERVICE_SECRET:
        return _status_error(401, "The X-IDENTITY-HEADER is missing or wrong.")
    if req.query.get("api-version") != "2019-08-01":
        return _status_error(400, "Unsupported api-version.")
    return _expires_on_only(ctx, req, _selectors(req, "client_id", "mi_res_id"))


def machine_learning(ctx: Context, req: Request) -> Response:
    """Azure ML: ``secret``, api-version 2017-09-01, ``clientid``."""
    if req.headers.get("secret") != ML_SECRET:
        return _status_error(401, "The secret header is missing or wrong.")
    if req.query.get("api-version") != "2017-09-01":
        return _status_error(400, "Unsupported api-version.")
    return _expires_on_only(ctx, req, _selectors(req, "clientid", "msi_res_id"))


def _expires_on_only(ctx: Context, req: Request, selectors: dict[str, str | None]) -> Response:
    resource = _resource(req)
    identity = _find(ctx, selectors)
    if not resource or identity is None:
        return _status_error(400, "Unknown resource or identity.")
    token, now, lifetime = _token(ctx, identity, resource)
    body = {
        "access_token": token,
        "expires_on": str(now + lifetime),
        "resource": resource,
        "token_type": "Bearer",
        "client_id": identity.client_id,
    }
    return json_response(body)


def _status_error(status: int, message: str) -> Response:
    return json_response({"statusCode": status, "message": message}, status)


def service_fabric(ctx: Context, req: Request) -> Response:
    """Service Fabric: ``Secret``, api-version 2019-07-01-preview, the cluster's
    identity; errors ``{"error": {correlationId, code, message}}``."""
    if req.headers.get("secret") != SERVICE_FABRIC_SECRET:
        return _sf_error(401, "SecretHeaderNotFound", "Secret is not found in the request headers.")
    if req.query.get("api-version") != "2019-07-01-preview":
        return _sf_error(400, "InvalidApiVersion", "Supported version is '2019-07-01-preview'.")
    resource = _resource(req)
    if not resource:
        return _sf_error(400, "ArgumentNullOrEmpty", "Value cannot be null. Parameter: resource")
    identity = _find(ctx, {})
    if identity is None:
        return _sf_error(
            400, "ManagedIdentityNotFound", "No system-assigned identity is configured."
        )
    token, now, lifetime = _token(ctx, identity, resource)
    body = {
        "token_type": "Bearer",
        "access_token": token,
        "expires_on": now + lifetime,
        "resource": resource,
    }
    return json_response(body)


def _sf_error(status: int, code: str, message: str) -> Response:
    body = {"error": {"correlationId": str(uuid.uuid4()), "code": code, "message": message}}
    return json_response(body, status)


def arc_key_directory(ctx: Context) -> Path:
    """Where the Arc endpoint writes its challenge key files (beside the dev IdP's keys)."""
    return ctx.keys.ca_path.parent / "arc-tokens"


def arc(ctx: Context, req: Request) -> Response:
    """Azure Arc: the first request gets a 401 naming a fresh key file; the second must
    carry ``Authorization: Basic <that file's content>``."""
    if req.headers.get("metadata") != "true":
        return _imds_error("invalid_request", "Required metadata header not specified", 400)
    if req.query.get("api-version") != "2020-06-01":
        return _imds_error("invalid_request", "Invalid or missing api-version", 400)
    authorization = req.headers.get("authorization", "")
    directory = arc_key_directory(ctx)
    if not authorization:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = directory / f"{secrets.token_hex(8)}.key"
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        headers = {"WWW-Authenticate": f"Basic realm={path}"}
        return json_response({"error": "unauthorized"}, 401, headers=headers)
    key = authorization.removeprefix("Basic ").strip()
    if not _known_key(directory, key):
        return _imds_error("invalid_request", "The key does not match a challenge", 401)
    return _imds_like(ctx, req, "msi_res_id", echo=True)


def _known_key(directory: Path, key: str) -> bool:
    for path in directory.glob("*.key"):
        if secrets.compare_digest(path.read_text(encoding="utf-8"), key):
            path.unlink()
            return True
    return False


def cloud_shell(ctx: Context, req: Request) -> Response:
    """Cloud Shell: POST with the form ``resource``, ``Metadata: true``."""
    if req.method != "POST" or req.headers.get("metadata") != "true":
        return _cloud_shell_error(400, "BadRequest", "POST with Metadata: true expected.")
    resource = _resource(req)
    if not resource:
        return _cloud_shell_error(400, "audience_not_supported", "A resource is required.")
    identity = _find(ctx, {})
    if identity is None:
        return _cloud_shell_error(400, "BadRequest", "No system-assigned identity is configured.")
    token, now, lifetime = _token(ctx, identity, resource)
    body = {
        "access_token": token,
        "expires_in": str(lifetime),
        "expires_on": str(now + lifetime),
        "token_type": "Bearer",
        "resource": resource,
    }
    return json_response(body)


def _cloud_shell_error(status: int, code: str, message: str) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status)


PATHS: dict[tuple[str, ...], Callable[[Context, Request], Response]] = {
    ("metadata", "identity", "oauth2", "token"): imds,
    ("msi", "token"): app_service,
    ("sf", "metadata", "identity", "oauth2", "token"): service_fabric,
    ("arc", "metadata", "identity", "oauth2", "token"): arc,
    ("ml", "msi", "token"): machine_learning,
    ("cloudshell", "oauth2", "token"): cloud_shell,
}


def handle(ctx: Context, req: Request, lowered: list[str]) -> Response | None:
    """The answer of a managed-identity path, or None when the path is not one."""
    endpoint = PATHS.get(tuple(lowered))
    return None if endpoint is None else endpoint(ctx, req)
