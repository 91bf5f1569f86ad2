"""Drop-in tests: the same public call through MSAL Python 1.39 and tokensmith."""
