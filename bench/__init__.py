"""Benchmarks of tokensmith against MSAL Python 1.39, run side by side.

Entry point: ``python -m bench`` (see :mod:`bench.__main__`). The package is kept light
on import: the CLI-style probe runs in fresh processes and imports only what it needs.
"""
