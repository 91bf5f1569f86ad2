"""The application fixtures (a fake Entra, app builders), for the tests that run
applications on caches (test_hooks_dispatch)."""

from tests.unit.application.conftest import entra, make_cca, make_pca

__all__ = ["entra", "make_cca", "make_pca"]
