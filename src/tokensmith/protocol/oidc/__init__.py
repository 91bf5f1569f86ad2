"""OpenID Connect pieces: id token claims, JWKS signature checks, nonces (OIDC Core 1.0)."""
