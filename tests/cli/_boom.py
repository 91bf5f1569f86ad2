"""A command registered by a test (tests/cli/test_registry.py): it fails with a bug."""

from __future__ import annotations

import argparse

HELP = "fail like a bug would"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--what", default="secret-token-value")


def run(args: argparse.Namespace, out: object) -> int:
    raise RuntimeError(f"oops {args.what}")
