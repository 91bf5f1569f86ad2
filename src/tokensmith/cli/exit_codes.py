"""The ``tokensmith`` command's exit statuses: stable, documented in docs/cli.md.

Scripts may rely on them; a new failure kind gets a new number, an old number never
changes its meaning.
"""

from __future__ import annotations

__all__ = [
    "CANCELLED",
    "FAILED",
    "NOT_SIGNED_IN",
    "OK",
    "UNREACHABLE",
    "USAGE",
    "VERIFICATION_FAILED",
]

OK = 0
"""Done."""

FAILED = 1
"""The identity provider refused (an OAuth error such as ``invalid_grant``), or the
operation failed for another reason named on stderr."""

USAGE = 2
"""Bad arguments, profile, environment variable or file (nothing was sent)."""

UNREACHABLE = 3
"""The identity provider could not be reached: connection refused, TLS failure,
timeout, or an answer that is not OAuth."""

NOT_SIGNED_IN = 4
"""No cached account or token that fits: run ``tokensmith login`` first."""

VERIFICATION_FAILED = 5
"""``decode --verify``: the signature or the claims did not verify."""

CANCELLED = 130
"""Ctrl-C (SIGINT): the wait was cancelled, nothing was saved half-way."""
