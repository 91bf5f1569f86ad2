"""The admin API, for tests in other processes and languages (loopback only, like the
whole server; it changes behaviour, never reveals secrets)::

    GET    /_devidp/faults                  list armed fault switches
    POST   /_devidp/faults                  arm one (form fields: kind, client_id, user,
                                            count, retry_after, status, seconds, plain_text)
    DELETE /_devidp/faults                  disarm all
    POST   /_devidp/device-auto-complete    form field ``user`` (empty turns it off)
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tokensmith.devidp.context import Context
from tokensmith.devidp.errors import OAuthError
from tokensmith.devidp.wire import Request, Response, json_response
from tokensmith.errors import ConfigurationError

__all__ = ["handle"]


def _bad(message: str) -> OAuthError:
    return OAuthError("invalid_request", 0, message)


def _int(req: Request, name: str, default: int | None) -> int | None:
    raw = req.form.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() == "none":
        return None
    try:
        return int(raw)
    except ValueError:
        raise _bad(f"'{name}' must be an integer") from None


def _faults(ctx: Context, req: Request) -> Response:
    if req.method == "GET":
        armed = [asdict(f) for f in ctx.faults.armed()]
        return json_response({"faults": armed})
    if req.method == "DELETE":
        ctx.faults.clear()
        return json_response({"faults": []})
    kind = req.form.get("kind", "")
    options: dict[str, Any] = {
        "client_id": req.form.get("client_id") or None,
        "user": req.form.get("user") or None,
        "count": _int(req, "count", 1),
        "retry_after": _int(req, "retry_after", 5),
        "status": _int(req, "status", 503),
        "plain_text": req.form.get("plain_text", "").lower() in ("1", "true", "yes"),
    }
    try:
        options["seconds"] = float(req.form.get("seconds") or 1.0)
        fault = ctx.faults.add(kind, **options)
    except (ValueError, ConfigurationError) as exc:
        raise _bad(str(exc)) from None
    return json_response(asdict(fault), 201)


def handle(ctx: Context, req: Request, segments: list[str]) -> Response | None:
    """Answer an admin request (``segments`` follow ``/_devidp/``); None: no such path."""
    if segments == ["faults"]:
        return _faults(ctx, req)
    if segments == ["device-auto-complete"] and req.method == "POST":
        user = req.form.get("user", "")
        if user and ctx.config.user(user) is None:
            raise _bad(f"unknown user {user!r}")
        ctx.device_code_auto_complete_user = user
        return json_response({"device_code_auto_complete_user": user})
    return None
