"""What this host's kernel says about a process: whether a pid runs, and when it started.

The probes the lock file's staleness rules ask (:mod:`tokensmith.stores._lock_owner`),
and the file stores' sweep of temporaries left by killed writers. A start is read from
``/proc`` (Linux); elsewhere (macOS, Windows) it is not known.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["pid_alive", "process_start", "start_from_proc", "windows_pid_alive"]

_started: list[float | None] = []
"""When this process started (wall clock; None: not known), once looked up."""


def process_start() -> float | None:
    """When this process started, as wall-clock time (looked up once); None where that
    is not known."""
    if not _started:
        _started.append(start_from_proc())
    return _started[0]


def start_from_proc(pid: str = "self") -> float | None:
    """The start of process ``pid`` (this one by default) from ``/proc/<pid>/stat``
    (Linux, to a clock tick, rounded early); None without ``/proc`` (macOS, Windows),
    or when it cannot be read (the process is gone, or hidden from this user)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        ticks = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime
        since_boot = time.clock_gettime(time.CLOCK_BOOTTIME)
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return time.time() - (since_boot - ticks)


def pid_alive(pid: int) -> bool:
    """True if a process ``pid`` exists (this user's or another's).

    Windows asks the process itself (:func:`windows_pid_alive`): there ``os.kill(pid,
    0)`` is no probe, signal 0 being ``CTRL_C_EVENT`` (a Ctrl+C to the console's
    processes, this one included, or an error for a pid that is no process group).
    """
    if sys.platform == "win32":  # pragma: no cover - the project's machines run Linux
        import ctypes

        return windows_pid_alive(pid, _kernel32(), ctypes.get_last_error)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OverflowError:
        return False
    return True


def _kernel32() -> Any:  # pragma: no cover - Windows only
    """``kernel32`` with the three functions :func:`windows_pid_alive` calls typed
    (a handle is pointer-sized); loaded once."""
    if not _loaded:
        import ctypes

        kernel32: Any = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
        kernel32.OpenProcess.restype = ctypes.c_void_p
        kernel32.OpenProcess.argtypes = (ctypes.c_ulong, ctypes.c_int, ctypes.c_ulong)
        kernel32.GetExitCodeProcess.argtypes = (ctypes.c_void_p, ctypes.POINTER(ctypes.c_ulong))
        kernel32.CloseHandle.argtypes = (ctypes.c_void_p,)
        _loaded.append(kernel32)
    return _loaded[0]


_loaded: list[Any] = []
_QUERY_LIMITED_INFORMATION = 0x1000
_STILL_ACTIVE = 259
_ERROR_INVALID_PARAMETER = 87
"""``OpenProcess``' error for a pid that is no process."""


def windows_pid_alive(pid: int, kernel32: Any, last_error: Callable[[], int]) -> bool:
    """True if ``pid`` is a running process, asked through ``kernel32``
    (``OpenProcess``, ``GetExitCodeProcess``, ``CloseHandle``); ``last_error`` is
    ``ctypes.get_last_error``. A process that cannot be asked (another user's) is
    running."""
    import ctypes

    if not 0 < pid <= 0xFFFFFFFF:
        return False
    handle = kernel32.OpenProcess(_QUERY_LIMITED_INFORMATION, False, pid)
    if not handle:
        return last_error() != _ERROR_INVALID_PARAMETER  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True  # cannot tell: wait for it, as for a live holder
        return code.value == _STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)
