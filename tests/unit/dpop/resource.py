"""A DPoP-protected resource in process: checks requests with tokensmith's verifier."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tokensmith.protocol.dpop_verify import DPoPProofError, DPoPVerifier


class Resource:
    """Accepts ``Authorization: DPoP <token>`` when the proof passes and the token is
    bound (``tokens``: token -> jkt); can require a nonce (rotated on demand)."""

    def __init__(self, verifier: DPoPVerifier, tokens: Mapping[str, str]) -> None:
        self.verifier = verifier
        self.tokens = dict(tokens)
        self.nonce: str | None = None
        self.seen: list[dict[str, str]] = []

    def answer(
        self, method: str, url: str, headers: Mapping[str, str], proofs: list[str]
    ) -> tuple[int, dict[str, str], str]:
        self.seen.append(dict(headers))
        scheme, _, token = (headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "dpop" or token not in self.tokens:
            return 401, {"WWW-Authenticate": 'DPoP algs="ES256"'}, ""
        try:
            self.verifier.verify(
                proofs,
                method=method,
                url=url,
                access_token=token,
                jkt=self.tokens[token],
                nonce=self.nonce,
            )
        except DPoPProofError as exc:
            extra = {"DPoP-Nonce": self.nonce} if exc.error == "use_dpop_nonce" else {}
            return 401, {"WWW-Authenticate": exc.www_authenticate(), **extra}, ""
        return 200, {}, json.dumps({"ok": True})


@contextmanager
def serve(resource: Resource) -> Iterator[str]:
    """Serve ``resource`` over http on 127.0.0.1; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host = f"http://127.0.0.1:{self.server.server_address[1]}"
            headers = {k.lower(): v for k, v in self.headers.items()}
            proofs = self.headers.get_all("DPoP") or []
            status, extra, body = resource.answer("GET", host + self.path, headers, proofs)
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
