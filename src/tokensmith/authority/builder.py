"""MSAL Python's ``AuthorityBuilder``: an authority URL from a host and a tenant."""

from __future__ import annotations

from tokensmith.errors import AuthorityError

__all__ = ["AuthorityBuilder"]


class AuthorityBuilder:
    """Builds ``https://{instance}/{tenant}`` so callers need not concatenate strings.

    MSAL Python's public helper, e.g. ``AuthorityBuilder(AZURE_PUBLIC, "contoso.com")``.
    """

    __slots__ = ("_instance", "_tenant")

    def __init__(self, instance: str, tenant: str) -> None:
        if not isinstance(instance, str) or not isinstance(tenant, str):
            raise AuthorityError("AuthorityBuilder needs an instance and a tenant, both strings")
        self._instance = instance.rstrip("/")
        self._tenant = tenant.strip("/")

    def __str__(self) -> str:
        return f"https://{self._instance}/{self._tenant}"

    def __repr__(self) -> str:
        return f"AuthorityBuilder({self._instance!r}, {self._tenant!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AuthorityBuilder):
            return NotImplemented
        return (self._instance, self._tenant) == (other._instance, other._tenant)

    def __hash__(self) -> int:
        return hash((self._instance, self._tenant))
