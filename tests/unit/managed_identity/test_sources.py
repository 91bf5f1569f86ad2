"""Source detection: MSAL Python 1.39's order, a pure function of the environment."""

from __future__ import annotations

import pytest

from tokensmith.protocol.managed_identity import sources

SF = {"IDENTITY_ENDPOINT": "https://127.0.0.1:2377/t", "IDENTITY_HEADER": "h"}


def _detect(env: dict[str, str], platform: str = "linux", agent: bool = False) -> sources.Source:
    return sources.detect(env, platform=platform, exists=lambda path: agent)


@pytest.mark.parametrize(
    ("env", "kind"),
    [
        ({**SF, "IDENTITY_SERVER_THUMBPRINT": "ab" * 20}, sources.SERVICE_FABRIC),
        (SF, sources.APP_SERVICE),
        ({**SF, "MSI_ENDPOINT": "x", "MSI_SECRET": "y"}, sources.APP_SERVICE),
        ({"MSI_ENDPOINT": "http://127.0.0.1/ml", "MSI_SECRET": "s"}, sources.MACHINE_LEARNING),
        ({"IDENTITY_ENDPOINT": "http://127.0.0.1/arc", "IMDS_ENDPOINT": "x"}, sources.AZURE_ARC),
        ({"IDENTITY_ENDPOINT": "http://127.0.0.1/arc"}, sources.DEFAULT_TO_VM),
        ({"AZUREPS_HOST_ENVIRONMENT": "cloud-shell/1.0"}, sources.CLOUD_SHELL),
        ({"AZUREPS_HOST_ENVIRONMENT": "other"}, sources.DEFAULT_TO_VM),
        ({"MSI_ENDPOINT": "http://127.0.0.1/ml"}, sources.DEFAULT_TO_VM),
        ({}, sources.DEFAULT_TO_VM),
    ],
)
def test_detection_order(env: dict[str, str], kind: sources.SourceKind) -> None:
    assert _detect(env).kind is kind


def test_arc_agent_installed_wins_over_cloud_shell() -> None:
    found = _detect({"AZUREPS_HOST_ENVIRONMENT": "cloud-shell"}, agent=True)
    assert found.kind is sources.AZURE_ARC
    assert found.endpoint == sources.ARC_DEFAULT_ENDPOINT
    assert _detect({}, platform="darwin", agent=True).kind is sources.DEFAULT_TO_VM


def test_imds_host_override_and_default() -> None:
    assert _detect({}).endpoint == "http://169.254.169.254/metadata/identity/oauth2/token"
    found = _detect({"AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:8/"})
    assert found.endpoint == "http://127.0.0.1:8/metadata/identity/oauth2/token"


def test_cloud_shell_endpoint() -> None:
    env = {"AZUREPS_HOST_ENVIRONMENT": "cloud-shell", "MSI_ENDPOINT": "http://127.0.0.1:5/t"}
    assert _detect(env).endpoint == "http://127.0.0.1:5/t"
    assert _detect({"AZUREPS_HOST_ENVIRONMENT": "cloud-shell"}).endpoint.endswith(
        ":50342/oauth2/token"
    )


def test_the_secret_is_not_in_the_repr() -> None:
    assert "h" not in repr(_detect(SF)).replace("https", "").replace("APP_SERVICE", "")


def test_msal_module_path_names() -> None:
    import tokensmith.managed_identity as mi

    assert mi.get_managed_identity_source() in (mi.DEFAULT_TO_VM, mi.AZURE_ARC, mi.CLOUD_SHELL)
    assert issubclass(mi.ArcPlatformNotSupportedError, mi.ManagedIdentityError)
    assert issubclass(mi.ManagedIdentityError, ValueError)
