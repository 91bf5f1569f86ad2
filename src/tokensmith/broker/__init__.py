"""Authentication brokers: the backend interface and MSAL's broker rules.

``PublicClientApplication(..., enable_broker_on_linux=True)`` (or ``_windows``,
``_mac``, ``_wsl``) hands interactive sign-in, silent refresh of broker accounts,
accounts and sign-out to a broker of the device (docs/brokers.md).

Module map: ``base`` (the :class:`~tokensmith.broker.base.BrokerBackend` interface
and its values), ``policy`` (opt-in, bypass and fallback rules, redirect URIs),
``runtime`` (Microsoft's pymsalruntime), ``dbus_client`` (the Linux broker's D-Bus
protocol in pure Python, over ``wire``), ``pop`` and ``results`` (MSAL's shapes).
A public client reads only :func:`opted_in_anywhere` from here; the modules load
when an application opts in, and the backends import their packages (pymsalruntime,
jeepney) only then.
"""

from __future__ import annotations

__all__ = ["opted_in_anywhere"]


def opted_in_anywhere(
    *, windows: object, mac: object, linux: object, wsl: object, allow_broker: object
) -> bool:
    """Whether any ``enable_broker_on_*`` (or MSAL's older ``allow_broker``) asks for a
    broker. False, the common case, decides without loading the broker modules; True
    leaves the platform's rules to :func:`tokensmith.broker.policy.broker_for`."""
    return bool(windows or mac or linux or wsl or allow_broker)
