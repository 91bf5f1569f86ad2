"""Who holds a lock file (:mod:`tokensmith.stores.lockfile`), where, and whether it is gone.

What a lock file says: msal-extensions writes ``"<pid> <argv[0]>"`` into it; tokensmith
keeps that first line (the program name cut to 1 KiB) and adds a second one saying
where the holder's pid means something: ``tokensmith-lock/1 host=<host name>
boot=<boot id> pidns=<pid namespace> id=<random>`` (``boot`` from
``/proc/sys/kernel/random/boot_id`` and ``pidns`` from ``/proc/self/ns/pid``, Linux
only; ``id`` is this lock's only, read back by its holder after writing). A pid only
names a process in the pid namespace of the kernel that gave it: on a folder several
hosts share (an NFS home folder) or several pid namespaces see (a volume of several
containers, a Flatpak sandbox's home folder) a live holder elsewhere looks dead or
reused here. So a lock is judged by where it was made:

* one that tokensmith made **here** (the same boot id and pid namespace; where those are
  not known, the same host name and neither known) is stale as soon as the pid rule
  below says so: a killed local holder's lock is recovered at once;
* one made **elsewhere** (another host, another boot, another pid namespace) is never
  broken by the pid rule: it is waited for, and the writer gets
  :class:`~tokensmith.errors.StoreLockTimeout` naming that holder. Only a lock from an
  earlier boot of this host (the same host name, another boot id, the file written
  before this boot) is stale: no process of that boot runs. One left by a killed holder
  in another pid namespace of this boot (a restarted container) stays until removed;
* one with no such line (msal-extensions' own, an older tokensmith's) may have been made
  anywhere: the pid rule breaks it only once the file is :data:`STALE_GRACE_S` (2 s)
  old, while a lock is held for milliseconds, so a holder elsewhere is not broken while
  it writes. An empty file, or one with no pid, is stale at that age too
  (:data:`EMPTY_STALE_S`: a holder killed between creating the file and writing it).

The pid rule: a lock is stale when its pid is not a running process, or a running one
that started after the file was written (by :data:`REUSED_PID_MARGIN_S`: the killed
holder's pid taken again, after a reboot or in a restarted container), is not a pid at
all (0 or less: stale at once, wherever made), or is this process's own while
tokensmith in this process does not hold that lock and the file is older than this
process (a killed process's pid taken again, as pid 1 in a restarted container; a
younger one may be msal-extensions' lock taken in this very process). A process's start
comes from ``/proc`` (Linux); where it is not known (macOS, Windows, a process hidden
from this user) a lock with a live pid is never broken: with this process's pid it may
be msal-extensions' lock taken here before tokensmith was imported. Ages are the
file's modification time against this host's clock (on NFS the server's clock stamps
the file): hosts sharing a folder must keep their clocks within about a second of each
other (NTP) for the grace period to protect a holder.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sys
import time
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, unquote

from tokensmith.stores._lock_held import holds
from tokensmith.stores._pids import pid_alive, process_start, start_from_proc

__all__ = [
    "EMPTY_STALE_S",
    "REUSED_PID_MARGIN_S",
    "STALE_GRACE_S",
    "Place",
    "elsewhere",
    "here",
    "holder_gone",
    "pid_of",
    "place_of",
    "stamp",
]

STALE_GRACE_S = 2.0
"""A lock file that does not say where it was made (msal-extensions' own) is judged by
its pid only once it is this old: its holder may be on another host or in another pid
namespace, where its pid looks dead here, and a lock is held for milliseconds."""

EMPTY_STALE_S = STALE_GRACE_S
"""A lock file still empty (or with no pid) after this long was left by a process killed
while creating it (both libraries write the pid right after creating the file); younger,
it may be a holder's anywhere that has not written yet."""

REUSED_PID_MARGIN_S = 1.0
"""A live process counts as a lock's holder unless it started this long after the lock
was written (the file's time is a few milliseconds coarse, a process's start a clock
tick)."""

_MARK = b"tokensmith-lock/1"
"""The first word of the line a tokensmith lock file says where it was made in."""
_PROGRAM_MAX = 1024
"""The most of ``argv[0]`` written (the whole file is read back in one 4 KiB read)."""


class Place(NamedTuple):
    """Where a lock was made: what gives its pid a meaning."""

    host: str
    boot: str | None
    """The kernel's boot id (Linux); None where not known."""
    pidns: str | None
    """The pid namespace, as ``/proc/self/ns/pid`` names it (Linux); None where not known."""


_places: dict[int, Place] = {}
"""This process's place, by pid (a forked child looks it up again)."""


def stamp() -> bytes:
    """What a call writes into a lock file it made: msal-extensions' ``"<pid>
    <argv[0]>"``, then the line that says where the pid means something, with an ``id``
    no other lock has (a holder reads it back to know the file is still its own)."""
    program = os.fsencode(sys.argv[0]) if sys.argv else b""
    place = here()
    words = [_MARK, b"host=" + _quoted(place.host)]
    if place.boot is not None:
        words.append(b"boot=" + _quoted(place.boot))
    if place.pidns is not None:
        words.append(b"pidns=" + _quoted(place.pidns))
    words.append(b"id=" + secrets.token_hex(8).encode("ascii"))  # this lock's, of all
    return b"%d %s\n%s\n" % (os.getpid(), program[:_PROGRAM_MAX], b" ".join(words))


def _quoted(value: str) -> bytes:
    return quote(value, safe=":[]").encode("ascii")


def pid_of(content: bytes) -> int | None:
    """The pid the lock file ``content`` starts with (both libraries write it first);
    None if it is empty or starts with no number."""
    first = content.split(b" ", 1)[0].split(b"\n", 1)[0]
    digits = first[1:] if first.startswith(b"-") else first
    return int(first) if digits.isdigit() else None  # "-5": a number, and no pid


def place_of(content: bytes) -> Place | None:
    """Where the lock file ``content`` says it was made; None if it does not say (not
    tokensmith's, or cut short)."""
    lines = content.rstrip(b"\n").split(b"\n")
    words = lines[-1].split(b" ")
    if len(lines) < 2 or words[0] != _MARK:
        return None
    fields: dict[bytes, str] = {}
    for word in words[1:]:
        key, equals, value = word.partition(b"=")
        if not equals or not value.isascii():
            return None
        try:
            fields[key] = unquote(value.decode("ascii"), errors="strict")
        except UnicodeDecodeError:
            return None
    host = fields.get(b"host")
    return None if host is None else Place(host, fields.get(b"boot"), fields.get(b"pidns"))


def here() -> Place:
    """Where this process's pids mean something (looked up once per process)."""
    pid = os.getpid()
    place = _places.get(pid)
    if place is None:
        boot: str | None = None
        pidns: str | None = None
        with (
            contextlib.suppress(OSError, UnicodeDecodeError),
            open("/proc/sys/kernel/random/boot_id", "rb") as handle,
        ):
            boot = handle.read().decode("ascii").strip() or None
        with contextlib.suppress(OSError, AttributeError):
            pidns = os.readlink("/proc/self/ns/pid") or None
        place = _places.setdefault(pid, Place(socket.gethostname(), boot, pidns))
    return place


def _same_pids(made: Place, ours: Place) -> bool:
    """True if a pid in a lock made at ``made`` names a process at ``ours``: the same
    boot and pid namespace, or where those are not known the same host and neither
    known."""
    if None not in (made.boot, made.pidns, ours.boot, ours.pidns):
        return (made.boot, made.pidns) == (ours.boot, ours.pidns)
    return made == ours


def holder_gone(path: Path, pid: int | None, age: float, made: Place | None) -> bool:
    """True if no process holds the lock file at ``path``, written ``age`` seconds ago
    with ``pid`` (None: empty, or no pid) at ``made`` (None: it does not say)."""
    if pid is None:
        return age >= EMPTY_STALE_S
    if pid <= 0:
        return True
    if made is None:  # msal-extensions': its holder may be where its pid means nothing
        return age >= STALE_GRACE_S and _pid_gone(path, pid, age)
    ours = here()
    if _same_pids(made, ours):
        return _pid_gone(path, pid, age)
    return _of_an_earlier_boot(made, ours, age)


def _pid_gone(path: Path, pid: int, age: float) -> bool:
    """True if the pid rule finds no holder of the lock file at ``path``, written ``age``
    seconds ago with ``pid`` (above 0), in this pid namespace."""
    if pid == os.getpid():
        if holds(path):
            return False
        started = process_start()
        # without the start time (no /proc) it may be msal-extensions' lock, taken in
        # this process at any time: never break it (pid reuse is a container's case)
        return started is not None and time.time() - age < started
    if not pid_alive(pid):
        return True
    # a process that started after the lock was written is not its holder: the holder
    # was killed and its pid taken again (after a reboot, in a restarted container)
    started = start_from_proc(str(pid))
    return started is not None and started > time.time() - age + REUSED_PID_MARGIN_S


def _of_an_earlier_boot(made: Place, ours: Place, age: float) -> bool:
    """True if a lock made at ``made`` (not this pid namespace) was made on this host
    before it booted: the same host name, another boot id, and written before this boot
    (a lock another host of the same name holds now was written after it)."""
    if made.host != ours.host or made.boot is None or ours.boot in (None, made.boot):
        return False
    try:
        booted = time.time() - time.clock_gettime(time.CLOCK_BOOTTIME)
    except (OSError, AttributeError):
        return False
    return time.time() - age < booted - REUSED_PID_MARGIN_S


def elsewhere(made: Place | None) -> str | None:
    """Where a lock made at ``made`` was made, said for a waiter that will never break
    it (``"on host db2"``); None if its pid names a process here, or it does not say."""
    if made is None:
        return None
    ours = here()
    if _same_pids(made, ours):
        return None
    if made.host != ours.host:
        return f"on host {made.host}"
    if made.boot != ours.boot:
        return f"on host {made.host} in another boot (or another host of that name)"
    return "in another pid namespace of this host (another container, a sandbox)"
