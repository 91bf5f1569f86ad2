"""tokensmith: OAuth 2.0 / OpenID Connect tokens, with MSAL Python's API."""

__version__ = "0.1.0"
