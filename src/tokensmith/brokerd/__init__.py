"""``tokensmith broker``: an open authentication broker for Linux (docs/brokers.md).

It serves the D-Bus interface and JSON protocol of Microsoft's Linux identity broker
(``com.microsoft.identity.broker1`` on the session bus), so Microsoft's own clients
(pymsalruntime, MSAL Python with ``enable_broker_on_linux=True``) and tokensmith's
D-Bus client use it unchanged, backed by any OpenID provider (tokensmith's dev IdP by
default). Refresh tokens stay on the device, encrypted under a device key.

Module map: ``core`` (the methods), ``service`` (the bus), ``vault`` (encryption at
rest), ``pop`` (the broker's signing key and signed HTTP requests), ``command`` (the
``tokensmith broker`` subcommand and ``python -m tokensmith.brokerd``); ``data/``
holds the D-Bus activation file and the systemd user unit.
"""
