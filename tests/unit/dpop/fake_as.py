"""An authorization server that speaks DPoP, in process: FakeEntra's endpoints, with
the token endpoint checking proofs through tokensmith's own verifier."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from tests.unit.application.fake_entra import FakeEntra, unsigned_jwt

from tokensmith._jwt import decode_jwt_claims
from tokensmith.protocol.dpop_verify import DPoPProofError, DPoPVerifier
from tokensmith.protocol.http import header
from tokensmith.transport.base import HttpRequest, HttpResponse
from tokensmith.transport.mock import MockTransport, json_response


class DPoPServer:
    """Token requests must carry a valid proof; tokens come back ``token_type=DPoP``.

    Attributes:
        nonce: when set, proofs must carry it (else ``400 use_dpop_nonce``).
        rotate: a new nonce handed out (in ``DPoP-Nonce``) with every success.
        bearer: answer as a server without DPoP would (``Bearer``, no check).
        proofs: the verified proofs, one per accepted token request.
        bound: refresh token -> the thumbprint it is bound to (public clients).
    """

    def __init__(self, entra: FakeEntra) -> None:
        self.entra = entra
        self.verifier = DPoPVerifier(clock=entra.clock)
        self.nonce: str | None = None
        self.rotate = False
        self.bearer = False
        self.sticky_nonce_error = False
        self.id_claims: dict[str, Any] = {}
        self.algs: list[str] | None = None
        self.proofs: list[Any] = []
        self.bound: dict[str, str] = {}
        self.requests: list[HttpRequest] = []
        self.transport = MockTransport(self.handle)
        self._n = 0

    def handle(self, request: HttpRequest) -> HttpResponse:
        path = urlparse(request.url).path
        if path.endswith("/openid-configuration") and self.algs is not None:
            document = json.loads(self.entra.handle(request).text)
            document["dpop_signing_alg_values_supported"] = self.algs
            return json_response(document)
        if not path.endswith("/token"):
            return self.entra.handle(request)
        self.requests.append(request)
        if self.bearer:
            return self.entra.handle(request)
        proof = header({k.lower(): v for k, v in request.headers.items()}, "dpop")
        if self.sticky_nonce_error:
            return self._nonce_error("n-stuck")
        try:
            checked = self.verifier.verify(
                proof, method=request.method, url=request.url, nonce=self.nonce
            )
        except DPoPProofError as exc:
            if exc.error == "use_dpop_nonce" and self.nonce is not None:
                return self._nonce_error(self.nonce)
            return json_response({"error": "invalid_dpop_proof"}, 400)
        form = dict(request.data or {})
        rt = form.get("refresh_token")
        if rt is not None and rt in self.bound and self.bound[rt] != checked.jkt:
            return json_response({"error": "invalid_grant", "error_description": "key"}, 400)
        self.proofs.append(checked)
        with self.entra.lock:
            self.entra.token_requests.append(form)
        answer = self.entra.issue(form)
        body = json.loads(answer.text)
        body["token_type"] = "DPoP"
        if self.id_claims and "id_token" in body:
            claims = {**decode_jwt_claims(body["id_token"]), **self.id_claims}
            body["id_token"] = unsigned_jwt(claims)
        if "refresh_token" in body and "client_secret" not in form:
            self.bound[body["refresh_token"]] = checked.jkt
        headers = {}
        if self.rotate and self.nonce is not None:
            self._n += 1
            self.nonce = f"n-rotated-{self._n}"
            headers["DPoP-Nonce"] = self.nonce
        return json_response(body, headers=headers)

    def _nonce_error(self, nonce: str) -> HttpResponse:
        return json_response(
            {"error": "use_dpop_nonce", "error_description": "Authorization server requires nonce"},
            400,
            headers={"DPoP-Nonce": nonce},
        )
