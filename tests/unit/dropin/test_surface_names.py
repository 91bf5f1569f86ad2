"""Item 3 of issue 9: MSAL's module paths and helpers reachable as MSAL code reaches
them after ``import tokensmith as msal``, and ``is_pop_supported()``."""

from __future__ import annotations

import subprocess
import sys

import msal  # type: ignore[import-untyped]
import pytest
from tests.unit.dropin.surface_oracle import AUTHORITY, FakeEntraHttp

import tokensmith

# The names MSAL code reads through each module path (azure-identity and MSAL's docs).
MODULE_NAMES = {
    "exceptions": ["MsalError", "MsalServiceError"],
    "application": [
        "ClientApplication",
        "PublicClientApplication",
        "ConfidentialClientApplication",
        "extract_certs",
    ],
    "token_cache": ["TokenCache", "SerializableTokenCache"],
    "authority": [
        "AuthorityBuilder",
        "AZURE_PUBLIC",
        "AZURE_US_GOVERNMENT",
        "DEPRECATED_AZURE_CHINA",
        "AZURE_GOV_DE",
        "AZURE_GOV_FR",
        "AZURE_GOV_SG",
        "WORLD_WIDE",
        "WELL_KNOWN_AUTHORITY_HOSTS",
        "WELL_KNOWN_B2C_HOSTS",
    ],
    "managed_identity": [
        "ManagedIdentityClient",
        "SystemAssignedManagedIdentity",
        "UserAssignedManagedIdentity",
        "ManagedIdentityError",
        "ArcPlatformNotSupportedError",
    ],
}


def test_msal_exceptions_is_an_attribute_of_a_fresh_import() -> None:
    code = (
        "import sys\n"
        "import tokensmith as msal\n"
        "assert issubclass(msal.exceptions.MsalServiceError, msal.exceptions.MsalError)\n"
        "heavy = [m for m in ('httpx', 'cryptography', 'tokensmith.cache') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""  # the exceptions module pulls in nothing heavy


def test_import_tokensmith_stays_lazy() -> None:
    code = (
        "import sys, tokensmith\n"
        "print(','.join(m for m in ('tokensmith.application', 'tokensmith.token_cache',"
        " 'tokensmith.exceptions', 'tokensmith.authority') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


@pytest.mark.parametrize("module", sorted(MODULE_NAMES))
def test_module_paths_carry_the_names_msal_code_reads(module: str) -> None:
    theirs, ours = getattr(msal, module), getattr(tokensmith, module)
    for name in MODULE_NAMES[module]:
        assert hasattr(theirs, name), (module, name)  # the list is MSAL's
        value = getattr(ours, name)
        if isinstance(getattr(theirs, name), (str, list, tuple, frozenset, set)):
            assert value == getattr(theirs, name) or set(value) == set(getattr(theirs, name))


def test_the_classes_behind_module_paths_are_the_package_ones() -> None:
    assert tokensmith.application.ConfidentialClientApplication is (
        tokensmith.ConfidentialClientApplication
    )
    assert tokensmith.token_cache.SerializableTokenCache is tokensmith.SerializableTokenCache
    assert tokensmith.exceptions.MsalServiceError is tokensmith.errors.MsalServiceError
    with pytest.raises(AttributeError):
        _ = tokensmith.application.no_such_helper


_CERT_A = "MIIBszCCAVmgAwIBAgIUQ\nxYz0123456789abcdefA=="
_CERT_B = "MIIBtDCCAVqgAwIBAgIUR\n9876543210fedcbaZ=="
PEMS = [
    f"-----BEGIN CERTIFICATE-----\n{_CERT_A}\n-----END CERTIFICATE-----\n",
    f"subject=CN=leaf\n-----BEGIN CERTIFICATE-----\n{_CERT_A}\n-----END CERTIFICATE-----\n"
    f"-----begin certificate-----\r\n{_CERT_B}\r\n-----end certificate-----\n",
    f"  {_CERT_B}  \n",
]


@pytest.mark.parametrize("pem", PEMS)
def test_extract_certs_returns_what_msal_returns(pem: str) -> None:
    assert tokensmith.application.extract_certs(pem) == msal.application.extract_certs(pem)


def test_extract_certs_refuses_a_private_key_as_msal_does() -> None:
    key = "-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----\n"
    with pytest.raises(ValueError) as theirs:
        msal.application.extract_certs(key)
    with pytest.raises(ValueError) as ours:
        tokensmith.application.extract_certs(key)
    assert str(ours.value) == str(theirs.value)


def test_is_pop_supported_answers_as_msal_without_a_broker() -> None:
    answers = []
    for module in (msal, tokensmith):
        server = FakeEntraHttp()
        public = module.PublicClientApplication("pca", authority=AUTHORITY, http_client=server)
        confidential = module.ConfidentialClientApplication(
            "cca", client_credential="s", authority=AUTHORITY, http_client=server
        )
        answers.append([public.is_pop_supported(), confidential.is_pop_supported()])
    # MSAL answers None (its broker flag) where tokensmith says False: both falsy
    assert answers[0] == [None, None]
    assert answers[1] == [False, False]
