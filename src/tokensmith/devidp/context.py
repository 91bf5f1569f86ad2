"""The shared state every endpoint receives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tokensmith._clock import Clock
from tokensmith.devidp.config import DevIdPConfig
from tokensmith.devidp.faults import Faults
from tokensmith.devidp.keys import KeyMaterial
from tokensmith.devidp.state import GrantStore

__all__ = ["Context"]


@dataclass
class Context:
    """Configuration, keys, grant state, faults and time of one dev IdP.

    Attributes:
        base_url: ``https://127.0.0.1:<port>``, known once the socket is bound.
        device_code_auto_complete_user: UPN that completes device sign-ins at once, or
            empty (initialised from the config, changeable at run time).
    """

    config: DevIdPConfig
    keys: KeyMaterial
    store: GrantStore
    faults: Faults
    clock: Clock
    sleep: Callable[[float], None]
    base_url: str = ""
    device_code_auto_complete_user: str = ""
