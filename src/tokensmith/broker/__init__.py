"""Authentication brokers: the backend interface and MSAL's broker rules.

``PublicClientApplication(..., enable_broker_on_linux=True)`` (or ``_windows``,
``_mac``, ``_wsl``) hands interactive sign-in, silent refresh of broker accounts,
accounts and sign-out to a broker of the device (docs/brokers.md).

Module map: ``base`` (the :class:`~tokensmith.broker.base.BrokerBackend` interface
and its values), ``policy`` (opt-in, bypass and fallback rules, redirect URIs),
``runtime`` (Microsoft's pymsalruntime), ``dbus_client`` (the Linux broker's D-Bus
protocol in pure Python, over ``wire``), ``pop`` and ``results`` (MSAL's shapes).
Nothing here is imported by ``import tokensmith``; the backends import their
packages (pymsalruntime, jeepney) only when an application opts in.
"""
