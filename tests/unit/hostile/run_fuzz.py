"""``make fuzz``: the long run of the hostile-input surfaces (issue 14).

Runs every surface of :mod:`tests.unit.hostile.surfaces` with hypothesis-generated
inputs (``--examples`` per surface; the default totals over 100,000), prints how many
inputs each surface took and every distinct failure (exception type and the innermost
tokensmith frame), and exits non-zero when there was one.

    python -m tests.unit.hostile.run_fuzz [--examples N] [--seed S] [--only NAME]
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from tests.unit.hostile import strategies as s
from tests.unit.hostile import surfaces

SURFACES: dict[str, tuple[Callable[..., None], st.SearchStrategy[Any]]] = {
    "token_response": (lambda a: surfaces.token_response(a[0], a[1]), s.token_answers),
    "token_response_silent": (
        lambda a: surfaces.token_response(a[0], a[1], silent=True),
        s.token_answers,
    ),
    "id_token_claims": (surfaces.id_token_claims, s.claims),
    "discovery": (surfaces.discovery, s.discovery_documents),
    "device_code": (
        lambda a: surfaces.device_code(*a),
        st.tuples(s.device_answers, s.poll_answers),
    ),
    "cache_json": (surfaces.cache_json, s.cache_mutations),
    "authority": (surfaces.authority, s.authorities),
    "scopes": (surfaces.scopes, s.scope_arguments),
    "account_argument": (surfaces.account_argument, s.account_arguments),
}


def _signature(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "src/tokensmith" in f.filename] or frames
    where = f"{ours[-1].filename.split('/work/main/')[-1]}:{ours[-1].lineno}" if ours else "?"
    return f"{type(exc).__name__} at {where}: {str(exc)[:80]}"


def run(name: str, examples: int, seed_value: int) -> tuple[int, collections.Counter[str]]:
    check, strategy = SURFACES[name]
    failures: collections.Counter[str] = collections.Counter()
    count = 0

    @seed(seed_value)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def body(value: Any) -> None:
        nonlocal count
        count += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                check(value)
        except Exception as exc:  # every failure is counted, the run goes on
            failures[_signature(exc)] += 1

    body()
    return count, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=11_200, help="inputs per surface")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--only", choices=sorted(SURFACES))
    args = parser.parse_args(argv)
    total, bad = 0, 0
    for name in [args.only] if args.only else SURFACES:
        started = time.monotonic()
        count, failures = run(name, args.examples, args.seed)
        total += count
        bad += sum(failures.values())
        print(
            f"{name:24} {count:7d} inputs  {sum(failures.values()):5d} failures  "
            f"{time.monotonic() - started:6.1f} s",
            flush=True,
        )
        for signature, n in failures.most_common():
            print(f"    {n:6d} x {signature}", flush=True)
    print(f"{'total':24} {total:7d} inputs  {bad:5d} failures")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
