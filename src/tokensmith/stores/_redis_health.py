"""How :class:`~tokensmith.stores.RedisStore` lives with a Redis that fails: every
command goes through :meth:`RedisHealth.attempt`. A lost connection, a timeout, or an
answer the client cannot read (a server that is not Redis on the address) is an
outage: the store leaves Redis alone for ``backoff`` seconds, doubled per failure in a
row up to ``max_backoff``, with one warning per 30 s. An error reply is no outage: it
is logged per key (or per aborted transaction) at most every 30 s, with Redis's error
code and never the reply's text, which may quote a command's values (tokens).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from tokensmith._redact import logger, one_line

__all__ = ["RedisHealth", "reply_of", "shown_key", "text_of"]

T = TypeVar("T")
_WARN_EVERY_S = 30.0
_REFUSALS_KEPT = 64
"""Keys whose refusal was logged in the last 30 s that are remembered (more: not logged)."""


class RedisHealth:
    """The back-off and the refusal log of a Redis store (a base class: the store sets
    :attr:`errors` and :attr:`outages` and calls :meth:`_start_health`)."""

    errors: tuple[type[BaseException], ...]
    outages: tuple[type[BaseException], ...]
    client_code: str
    """The folder of the Redis client's package (its files' path prefix)."""

    def _start_health(self, backoff: float, max_backoff: float, timer: Callable[[], float]) -> None:
        self._backoff, self._max_backoff, self._timer = backoff, max_backoff, timer
        self._failures = 0
        self._failed_at = float("-inf")
        self._resume_at = 0.0
        self._warned_at: float | None = None
        self._refusals: dict[str, float] = {}
        self._outage_lock = threading.Lock()

    def attempt(self, what: str, command: Callable[[], T], fallback: T, *, key: str = "") -> T:
        """``command()``, or ``fallback`` when Redis failed (logged) or is being left
        alone after a lost connection or a timeout; an answer (an error reply too)
        ends the back-off. ``key``: the one key ``command`` touches, for the log."""
        started = self._timer()
        if self._failures and started < self._resume_at:
            return fallback
        try:
            result = command()
        except self.outages as exc:
            self._failed(what, exc, started)
            return fallback
        except self.errors as exc:  # Redis answered: that command failed, no outage
            self._answered(started)
            self._refused(what, key, exc)
            return fallback
        except Exception as exc:
            if not self._raised_by_client(exc):
                raise  # tokensmith's own: not the server's doing
            # the client could not read what answered (not Redis: a proxy, another
            # server on the port): an outage, as a lost connection is
            self._failed(what, exc, started)
            return fallback
        self._answered(started)
        return result

    def _raised_by_client(self, exc: BaseException) -> bool:
        """True if ``exc`` was raised inside the Redis client's own code
        (:attr:`client_code`), as redis-py's ``AttributeError`` on a handshake reply
        that is not Redis's."""
        tb = exc.__traceback__
        if tb is None:
            return False
        while tb.tb_next is not None:
            tb = tb.tb_next
        return tb.tb_frame.f_code.co_filename.startswith(self.client_code)

    def _answered(self, started: float) -> None:
        if self._failures:
            with self._outage_lock:  # a command sent before the last failure proves nothing
                if started > self._failed_at:
                    self._failures = 0

    def _refused(self, what: str, key: Any, exc: BaseException) -> None:
        """Log a command Redis answered with an error: at most once per key every 30 s,
        with Redis's error code and never the error's text (redis-py's pipeline errors
        quote the command, values included)."""
        key = shown_key(key)
        if self._first_in_a_while(key):
            logger.warning(
                "token store: Redis refused a command%s (%s), %s; other keys are unaffected",
                f" on {key}" if key else "",
                _described(exc),
                what,
            )

    def _aborted(self, what: str, keys: Sequence[str], exc: BaseException) -> None:
        """Log a transaction Redis aborted (a command refused while it was queued): at
        most once per error code every 30 s, naming no key (the refusal is the
        server's state, not a key's)."""
        code = _error_code(exc)
        if self._first_in_a_while(f"\0aborted {type(exc).__name__} {code}"):
            logger.warning(
                "token store: Redis refused a command while the %s's transaction was "
                "queued (%s), so it aborted the whole transaction (EXECABORT): %s dropped, "
                "none of its %d commands on %d keys landed",
                what,
                _described(exc),
                what,
                len(keys),
                len(set(keys)),
            )

    def _first_in_a_while(self, key: str) -> bool:
        """True if no refusal of ``key`` was logged in the last 30 s (then noted now)."""
        now = self._timer()
        with self._outage_lock:
            seen = self._refusals
            if now - seen.get(key, float("-inf")) < _WARN_EVERY_S:
                return False
            if len(seen) >= _REFUSALS_KEPT:
                for old in [k for k, at in seen.items() if now - at >= _WARN_EVERY_S]:
                    del seen[old]
                if len(seen) >= _REFUSALS_KEPT:  # many keys refused at once: logged enough
                    return False
            seen[key] = now
        return True

    def _failed(self, what: str, exc: BaseException, started: float) -> None:
        with self._outage_lock:
            now = self._timer()
            if started <= self._failed_at:  # in flight when another one failed: one outage
                return
            pause = min(self._backoff * 2 ** min(self._failures, 32), self._max_backoff)
            self._failures += 1
            self._failed_at = now
            self._resume_at = now + pause
            if self._warned_at is not None and now - self._warned_at < _WARN_EVERY_S:
                return
            self._warned_at = now
        logger.warning(
            "token store: Redis unreachable, %s (%s); serving from memory and the network "
            "(writes are dropped) until the next try in %.3g s",
            what,
            type(exc).__name__,
            pause,
        )


def text_of(name: Any) -> str:
    """A key name as text (SCAN gives bytes)."""
    return name.decode(errors="replace") if isinstance(name, bytes) else str(name)


def shown_key(name: Any) -> str:
    """A key name for the log: as text, one line (another writer chose it)."""
    return one_line(text_of(name))


_CODE_OF = {
    "OutOfMemoryError": "OOM",
    "ReadOnlyError": "READONLY",
    "BusyLoadingError": "LOADING",
    "NoPermissionError": "NOPERM",
    "ExecAbortError": "EXECABORT",
    "NoScriptError": "NOSCRIPT",
}
"""redis-py's exception classes whose error code its parser strips from the message."""
_ANNOTATION = ") of pipeline caused error: "
"""redis-py's annotation of a pipeline's error: ``Command # 1 (<the command, values
included>) of pipeline caused error: <Redis's reply>``."""


def _described(exc: BaseException) -> str:
    """The exception's class and Redis's error code, for the log."""
    return f"{type(exc).__name__} {_error_code(exc)}".rstrip()


def _error_code(exc: BaseException) -> str:
    """Redis's error code (``WRONGTYPE``, ``OOM``, ``READONLY``...), else empty; never
    any other part of the message, which may quote a command's values (tokens)."""
    code = getattr(exc, "status_code", None)  # set by recent redis-py
    if isinstance(code, str) and _is_code(code):
        return code
    for cls in type(exc).__mro__:  # the codes redis-py's parser turns into a class
        if cls.__name__ in _CODE_OF:
            return _CODE_OF[cls.__name__]
    first = reply_of(exc).split(" ", 1)[0]
    return first if _is_code(first) else ""


def reply_of(exc: BaseException) -> str:
    """Redis's reply in a redis-py error, without the annotation of a pipeline's error,
    which quotes the command (its keys and values: tokens, usernames)."""
    text = str(exc.args[0]) if exc.args else ""
    # Redis's reply follows the last annotation mark: the command's text comes before it
    _, mark, reply = text.rpartition(_ANNOTATION)
    return reply if mark else text


def _is_code(word: str) -> bool:
    """True for an error code: capital ASCII letters (redis-py strips ``ERR``)."""
    return 0 < len(word) <= 32 and word.isascii() and word.isalpha() and word.isupper()
