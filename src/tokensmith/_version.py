"""The version of tokensmith (one place; the package and its headers read it)."""

__version__ = "0.1.0"
