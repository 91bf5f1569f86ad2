"""The built-in configuration, used when ``tokensmith dev-idp`` gets no ``--config``.

All GUIDs, names and passwords here were invented for the dev identity provider; they
are development fixtures, not secrets. ``tokensmith dev-idp --print-config`` prints
this document as a starting point for a custom file.
"""

from __future__ import annotations

from tokensmith.devidp import _toml
from tokensmith.devidp.config import DevIdPConfig, parse_config

__all__ = ["DEFAULT_CONFIG_TOML", "default_config"]

DEFAULT_CONFIG_TOML = """\
# tokensmith dev-idp configuration (the built-in default).

[settings]
device_code_interval = 5
device_code_expires_in = 900
# Complete every device-code sign-in at once as this user (off when empty).
device_code_auto_complete_user = ""
access_token_lifetime = 3599

# Fault switches armed at start (also settable at run time: DevIdP.faults, or
# POST /_devidp/faults). Kinds: authorization_pending, slow_down, expired_token,
# bad_token, consent_required, mfa_required, throttle, server_error, delay.
# [[faults]]
# kind = "authorization_pending"
# client_id = "3c9a7e51-2f4d-4b8a-9e6c-1d0f5a7b3c29"
# count = 2

[[tenants]]
name = "Contoso"
id = "8d2a1f3e-6c4b-4a59-9e7d-2b1c0a9f8e7d"
domains = ["contoso.onmicrosoft.com", "contoso.example"]

[[tenants]]
name = "Fabrikam"
id = "5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716"
domains = ["fabrikam.onmicrosoft.com"]

[[users]]
username = "ada@contoso.onmicrosoft.com"
password = "Passw0rd!"
name = "Ada Lovelace"
tenant = "contoso.onmicrosoft.com"
tenants = ["fabrikam.onmicrosoft.com"]   # also a guest in Fabrikam

[[users]]
username = "grace@contoso.onmicrosoft.com"
password = "Passw0rd!"
name = "Grace Hopper"
tenant = "contoso.onmicrosoft.com"
mfa_required = true

[[users]]
username = "alan@contoso.onmicrosoft.com"
password = "Passw0rd!"
name = "Alan Turing"
tenant = "contoso.onmicrosoft.com"
consent_required = true

[[users]]
username = "katherine@fabrikam.onmicrosoft.com"
password = "Passw0rd!"
name = "Katherine Johnson"
tenant = "fabrikam.onmicrosoft.com"

[[users]]
username = "hedy@corp.contoso.example"
password = "Passw0rd!"
name = "Hedy Lamarr"
tenant = "contoso.onmicrosoft.com"

# A domain whose users sign in at a federation server (AD FS): user realm discovery
# answers Federated, and the dev IdP plays the federation server too (a MEX document,
# WS-Trust 1.3 and 2005 endpoints under /federation/{domain}/adfs/services/trust/).
[[federated_domains]]
domain = "corp.contoso.example"
token_type = "saml1.1"          # or "saml2"
wstrust = ["1.3", "2005"]       # the username/password endpoints the MEX lists
mex = true                      # false: user realm discovery names no MEX document

[[apps]]
name = "Desktop app (public)"
client_id = "3c9a7e51-2f4d-4b8a-9e6c-1d0f5a7b3c29"
tenant = "contoso.onmicrosoft.com"
type = "public"
redirect_uris = ["http://localhost"]

[[apps]]
name = "Daemon (confidential)"
client_id = "9b1e4d7a-5c3f-4e2b-8a6d-7f0c2b9e4a15"
tenant = "contoso.onmicrosoft.com"
type = "confidential"
secrets = ["dev-secret-not-for-production"]
certificates = ["generate"]   # the dev IdP writes a key + certificate for it
redirect_uris = ["http://localhost/callback"]

[[apps]]
name = "Family app one (FOCI)"
client_id = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a51"
tenant = "contoso.onmicrosoft.com"
type = "public"
family_id = "1"
redirect_uris = ["http://localhost"]

[[apps]]
name = "Family app two (FOCI)"
client_id = "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a52"
tenant = "contoso.onmicrosoft.com"
type = "public"
family_id = "1"
redirect_uris = ["http://localhost"]

[[apps]]
name = "API A (middle tier, on-behalf-of)"
client_id = "a0a0a0a0-1b2c-4d3e-8f4a-5b6c7d8e9f01"
tenant = "contoso.onmicrosoft.com"
type = "confidential"
secrets = ["api-a-secret"]

[[apis]]
name = "Microsoft Graph (simulated)"
client_id = "00000003-0000-0000-c000-000000000000"
app_id_uri = "https://graph.microsoft.com"
scopes = ["User.Read", "Mail.Read", "Files.Read"]
app_roles = ["User.Read.All"]
token_version = 1

[[apis]]
name = "API A"
client_id = "a0a0a0a0-1b2c-4d3e-8f4a-5b6c7d8e9f01"
app_id_uri = "api://tokensmith-api-a"
scopes = ["access_as_user"]
app_roles = ["Tasks.ReadWrite.All"]

[[apis]]
name = "API B"
client_id = "b0b0b0b0-2c3d-4e4f-9a5b-6c7d8e9f0a02"
app_id_uri = "api://tokensmith-api-b"
scopes = ["Data.Read", "Data.Write"]
app_roles = ["Data.Read.All"]

# Managed identities, served on every managed-identity source (IMDS, App Service,
# Service Fabric, Arc, Machine Learning, Cloud Shell). A request naming no identity
# gets the system-assigned one; a user-assigned one is named by any of its ids.
[[managed_identities]]
kind = "system"
client_id = "6d0c5b4a-3e2f-4a1b-9c8d-7e6f5a4b3c21"
object_id = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
resource_id = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/dev/\
providers/Microsoft.Compute/virtualMachines/dev-vm"

[[managed_identities]]
kind = "user"
client_id = "c4b3a291-8f7e-4d6c-9b5a-4e3d2c1b0a99"
object_id = "f9e8d7c6-b5a4-4392-8a1b-0c9d8e7f6a55"
resource_id = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/dev/\
providers/Microsoft.ManagedIdentity/userAssignedIdentities/dev-uami"
"""


def default_config() -> DevIdPConfig:
    """The built-in configuration, parsed."""
    return parse_config(_toml.loads(DEFAULT_CONFIG_TOML))
