"""DPoP proofs (RFC 9449): the client-side cost of one proof, and a resource's check.

tokensmith only (MSAL has no DPoP). The proof row signs a fresh proof for a token
request (new ``jti``, ``iat``, ES256 signature); the check row verifies one proof with
its ``ath`` binding, as a resource does on every request. Each call's result is
checked before figures are kept.
"""

from __future__ import annotations

from collections.abc import Mapping

from bench.libs import TOKENSMITH, Library
from bench.scenarios.base import BenchCheckError, Cell, Context, Row, Scenario
from bench.timing import Call, measure

__all__ = ["SCENARIOS"]

PROOF = Row("dpop_proof", "DPoP proof, ES256 (token request)")
CHECK = Row("dpop_verify", "DPoP proof check with ath, ES256 (resource)")
ENDPOINT = "https://login.example.com/tenant/oauth2/v2.0/token"
RESOURCE = "https://api.example.com/items"


def proof(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """``DPoPKey.proof("POST", token endpoint)`` with an ES256 key."""
    from tokensmith.protocol.dpop import DPoPKey
    from tokensmith.protocol.dpop_verify import DPoPVerifier

    key = DPoPKey.generate("ES256")
    clock = ctx.clock
    sample = key.proof("POST", ENDPOINT, now=clock())
    if DPoPVerifier(clock=clock).verify(sample, method="POST", url=ENDPOINT).jkt != key.jkt:
        raise BenchCheckError("the proof does not verify with its key")

    def factory() -> Call:
        return lambda i: key.proof("POST", ENDPOINT, now=clock())

    return {"": Cell.of(measure(factory, ctx.settings))}


def check(lib: Library, size: int, ctx: Context) -> Mapping[str, Cell]:
    """``DPoPVerifier.verify`` of distinct proofs (no replay), token bound by jkt."""
    from tokensmith.protocol.dpop import DPoPKey
    from tokensmith.protocol.dpop_verify import DPoPVerifier

    key = DPoPKey.generate("ES256")
    now = ctx.clock()
    proofs = [key.proof("GET", RESOURCE, now=now, access_token="at") for _ in range(2000)]

    def factory() -> Call:
        pending = iter(list(proofs))  # a fresh verifier state per repeat would replay
        local = DPoPVerifier(clock=lambda: now)

        def call(i: int) -> object:
            result = local.verify(
                next(pending), method="GET", url=RESOURCE, access_token="at", jkt=key.jkt
            )
            if result.jkt != key.jkt:
                raise BenchCheckError("the verifier returned another key")
            return result

        return call

    measurement = measure(factory, ctx.settings, fresh_state_per_repeat=True, max_iterations=1000)
    return {"": Cell.of(measurement)}


SCENARIOS = (
    Scenario((PROOF,), proof, sized=False, libraries=frozenset({TOKENSMITH})),
    Scenario((CHECK,), check, sized=False, libraries=frozenset({TOKENSMITH})),
)
