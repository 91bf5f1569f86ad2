"""``tokensmith decode``: show a JWT's header and claims (like jwt.io, offline).

Nothing is verified unless ``--verify`` is given with the issuer's keys (``--jwks``
FILE or URL, or ``--issuer`` whose OpenID discovery names them): then the signature
(RS256, PS256, ES256) and the times (``exp``, ``nbf``) are checked, and ``--audience``
if given; a failure is exit status 5. The token is read from the argument, or from
stdin when it is ``-`` or missing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tokensmith.cli import exit_codes
from tokensmith.cli.output import Output
from tokensmith.cli.run import CommandFailed

__all__ = ["HELP", "configure", "run"]

HELP = "show a JWT's header and claims (verified only with --verify)"
_TIME_CLAIMS = ("exp", "nbf", "iat", "auth_time")
_UNVERIFIED = "NOT VERIFIED: anyone can write these claims (use --verify with the issuer's keys)"


def configure(parser: argparse.ArgumentParser) -> None:
    """``decode``'s arguments."""
    parser.add_argument("token", nargs="?", default="-", help="the JWT ('-' or none: stdin)")
    parser.add_argument("--verify", action="store_true", help="check signature and times")
    parser.add_argument("--jwks", help="the issuer's key set: a JSON file or an https URL")
    parser.add_argument("--issuer", help="the issuer URL: its keys come from OpenID discovery")
    parser.add_argument("--audience", help="with --verify: the expected 'aud'")
    parser.add_argument("--ca-bundle", help="PEM CAs for fetching the keys (e.g. the dev IdP's)")


def run(args: argparse.Namespace, out: Output) -> int:
    """Print the decoded token; verify it when asked."""
    from tokensmith._jwt import decode_json_part
    from tokensmith.errors import ProtocolError

    token = (sys.stdin.read() if args.token == "-" else args.token).strip()
    parts = token.split(".")
    try:
        if len(parts) != 3:
            raise ProtocolError(f"a JWT has 3 parts separated by '.', this has {len(parts)}")
        header = decode_json_part(parts[0], "the JWT header")
        claims = decode_json_part(parts[1], "the JWT payload")
    except ProtocolError as exc:
        raise CommandFailed("usage", f"not a JWT: {exc}", None, exit_codes.USAGE) from None
    problem = _verify(token, claims, args) if args.verify else None
    verified = args.verify and problem is None
    data = {"header": header, "claims": claims, "verified": verified, "problem": problem}
    out.result(data, lambda: _show(out, header, claims, verified, problem, args.verify))
    if problem is not None:
        return out.error("not_verified", f"not verified: {problem}", None, 5)
    return exit_codes.OK


def _show(
    out: Output,
    header: Mapping[str, Any],
    claims: Mapping[str, Any],
    verified: bool,
    problem: str | None,
    asked: bool,
) -> None:
    out.line("header")
    out.pairs([(k, json.dumps(v)) for k, v in header.items()])
    out.line("claims")
    out.pairs([(k, _claim_text(k, v)) for k, v in claims.items()])
    if verified:
        out.line("signature and times VERIFIED with the issuer's keys")
    elif not asked:
        out.line(_UNVERIFIED)


def _claim_text(name: str, value: Any) -> str:
    text = json.dumps(value)
    if name in _TIME_CLAIMS and isinstance(value, (int, float)) and not isinstance(value, bool):
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(value))
        delta = int(value - time.time())
        relative = f"in {delta} s" if delta >= 0 else f"{-delta} s ago"
        return f"{text}  ({when}, {relative})"
    return text


def _verify(token: str, claims: Mapping[str, Any], args: argparse.Namespace) -> str | None:
    from tokensmith.errors import IdTokenError
    from tokensmith.protocol.oidc.jwks import verify_jws_signature

    if not (args.jwks or args.issuer):
        raise CommandFailed(
            "usage",
            "--verify needs the issuer's keys",
            "pass --jwks FILE_OR_URL or --issuer URL",
            exit_codes.USAGE,
        )
    jwks = _keys(args)
    try:
        verify_jws_signature(token, jwks)
    except IdTokenError as exc:
        return str(exc)
    now = time.time()
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if isinstance(exp, (int, float)) and exp <= now:
        return f"expired {int(now - exp)} s ago"
    if isinstance(nbf, (int, float)) and nbf > now + 300:
        return "not valid yet (nbf is in the future)"
    if (
        args.issuer
        and claims.get("iss") != args.issuer.rstrip("/")
        and claims.get("iss") != args.issuer
    ):
        return f"issuer is {claims.get('iss')!r}, not {args.issuer!r}"
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if args.audience and args.audience not in audiences:
        return f"audience is {aud!r}, not {args.audience!r}"
    return None


def _keys(args: argparse.Namespace) -> Mapping[str, Any]:
    source = args.jwks
    if source and not source.startswith("https://"):
        try:
            document = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandFailed(
                "usage", f"cannot read JWKS file {source}: {exc}", None, 2
            ) from None
    else:
        if not source:
            config = _get_json(args.issuer.rstrip("/") + "/.well-known/openid-configuration", args)
            source = config.get("jwks_uri")
            if not isinstance(source, str):
                raise CommandFailed(
                    "unreachable", "the issuer's discovery has no jwks_uri", None, 3
                )
        document = _get_json(source, args)
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise CommandFailed("usage", f"{source} is not a JWKS (no 'keys' list)", None, 2)
    return document


def _get_json(url: str, args: argparse.Namespace) -> Any:
    from tokensmith.protocol.http import HttpRequest
    from tokensmith.transport.httpx_transport import HttpxTransport

    with HttpxTransport(verify=args.ca_bundle or True) as transport:
        response = transport.send(HttpRequest("GET", url, headers={"Accept": "application/json"}))
    if response.status_code != 200:
        raise CommandFailed(
            "unreachable", f"GET {url} answered HTTP {response.status_code}", None, 3
        )
    try:
        return json.loads(response.text)
    except ValueError:
        raise CommandFailed("unreachable", f"GET {url} did not answer JSON", None, 3) from None
