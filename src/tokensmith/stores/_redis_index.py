"""The username index of :class:`~tokensmith.stores.RedisStore`'s accounts hash.

A field ``#username|<SHA-256 of the lower-cased username>`` of the accounts hash lists
(JSON) the fields of that username's accounts, so ``get_accounts(username=...)`` in a
fresh process reads that user's accounts in one script and one round trip. The store
keeps it up to date with :data:`INDEX_ADD` and :data:`INDEX_DROP`, queued in the same
MULTI/EXEC as the write (so two processes adding accounts of one username at once both
stay listed), and reads it with :data:`BY_NAME_READ`; each script reads a
damaged list as the strings it holds. A list that names no account present (damaged,
or left by a process without scripts) is read past: the read takes the whole accounts
hash and lists the username's accounts it finds again (:meth:`UsernameIndex.mend`).
A Redis that refuses scripts (an ACL without ``@scripting``) gets no index
(:class:`UsernameIndex` gives it up, saying so once): it is then neither written nor
read, and a read by username reads the whole accounts hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from tokensmith._redact import logger
from tokensmith.cache.schema import CredentialType
from tokensmith.stores._redis_health import reply_of
from tokensmith.stores.base import Row

__all__ = [
    "BY_NAME_READ",
    "BY_USERNAME",
    "INDEX_ADD",
    "INDEX_DROP",
    "ScriptsRefused",
    "UsernameIndex",
    "queue_usernames",
    "refuses_scripts",
    "username_field",
]

BY_USERNAME = "#username|"
"""Before the digest of a username: a field of the accounts hash listing the fields of
that username's accounts (no credential type starts with ``#``)."""

_LISTED = """
local function listed()
  local text = redis.call('HGET', KEYS[1], ARGV[1])
  if not text then return {} end
  local ok, decoded = pcall(cjson.decode, text)
  local fields = {}
  if not ok or type(decoded) ~= 'table' then return fields end
  for _, field in ipairs(decoded) do
    if type(field) == 'string' then fields[#fields + 1] = field end
  end
  return fields
end
"""
"""The scripts' start: ``listed()``, the account fields of username field ARGV[1] of
hash KEYS[1] (none when absent or damaged; a damaged list's strings: an item of another
type, cjson's null or a table, would fail ``HMGET`` and every read of that username, and
a JSON object, encoded back with a field added, would list none)."""
INDEX_ADD = (
    _LISTED
    + """
local fields = listed()
for _, field in ipairs(fields) do
  if field == ARGV[2] then return 0 end
end
fields[#fields + 1] = ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(fields))
return 1
"""
)
"""Lists account field ARGV[2] under username field ARGV[1] of hash KEYS[1]."""
INDEX_DROP = (
    _LISTED
    + """
local kept = {}
for _, field in ipairs(listed()) do
  if field ~= ARGV[2] then kept[#kept + 1] = field end
end
if #kept == 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(kept))
end
return 1
"""
)
"""Takes account field ARGV[2] off the list of username field ARGV[1]."""
BY_NAME_READ = (
    _LISTED
    + """
local fields = listed()
local found = {}
for start = 1, #fields, 500 do
  local chunk = {unpack(fields, start, math.min(start + 499, #fields))}
  local values = redis.call('HMGET', KEYS[1], unpack(chunk))
  for i, field in ipairs(chunk) do
    if values[i] then
      found[#found + 1] = field
      found[#found + 1] = values[i]
    end
  end
end
if #found == 0 and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return false end
return found
"""
)
"""The accounts listed under username field ARGV[1]: field, value, field, value...; nil
when the field exists but lists no account present (damaged: the caller reads the
whole hash)."""


class ScriptsRefused(Exception):
    """A write refused (whole) for its scripts: sent again without them."""


class UsernameIndex:
    """Whether the index is kept (Redis lets this user run scripts), and its writes and
    reads while it is.

    Args:
        denied: what the client raises when an ACL refuses a command (redis-py's
            ``NoPermissionError``).
    """

    def __init__(self, denied: type[BaseException]) -> None:
        self.denied = denied
        self.scripts = True
        """False once Redis refused a script (an ACL without ``@scripting``): the
        username index is then neither written nor read (a read by username reads the
        whole accounts hash, as it did before the index)."""

    def queue(
        self, pipe: Any, listed: Sequence[tuple[bool, str, str, str]], fresh: bool
    ) -> list[str]:
        """:func:`queue_usernames`, or nothing once Redis refused scripts (an index
        nobody can keep up to date is better not written)."""
        return queue_usernames(pipe, listed, fresh) if self.scripts else []

    def accounts(self, client: Any, name: str, username: str) -> tuple[dict[bytes, bytes], bool]:
        """The fields and values of accounts hash ``name`` listed under ``username``
        (one script); the whole hash (``HGETALL``) when Redis refuses the script, or
        when the username's list names no account present (damaged, or left by a
        process without scripts), and then True: the caller mends the list
        (:meth:`mend`)."""
        try:
            flat = client.eval(BY_NAME_READ, 1, name, username_field(username))
        except self.denied as exc:
            self.no_scripts(exc)
            return client.hgetall(name), False
        if flat is None:
            return client.hgetall(name), True
        return dict(zip(flat[::2], flat[1::2], strict=True)), False

    def mend(self, client: Any, name: str, username: str, rows: Sequence[Row]) -> None:
        """List again under ``username`` its accounts among ``rows`` (a whole read of
        accounts hash ``name``): one pipelined :data:`INDEX_ADD` each, which leaves a
        field already listed, so a concurrent write loses nothing."""
        lowered = username.lower()
        fields = [
            f"{credential_type}|{key}"  # (an entry's field: tokensmith.stores._redis_layout)
            for credential_type, key, entry in rows
            if credential_type == CredentialType.ACCOUNT
            and isinstance(found := entry.get("username"), str)
            and found.lower() == lowered
        ]
        if not fields:
            return
        pipe = client.pipeline(transaction=False)
        for field in fields:
            pipe.eval(INDEX_ADD, 1, name, username_field(username), field)
        pipe.execute()

    def refused(self, exc: BaseException) -> bool:
        """Whether a transaction's ACL refusal ``exc`` was of its scripts: if so the
        index is given up and the caller sends the write again without them."""
        if self.scripts and refuses_scripts(exc):
            self.no_scripts(exc)
            return True
        return False

    def no_scripts(self, exc: BaseException) -> None:
        """Go on without scripts (and so without the username index), saying so once."""
        self.scripts = False
        logger.warning(
            "token store: Redis refuses scripts to this user (%s; ACL category "
            "@scripting): the username index is not kept, and get_accounts(username=...) "
            "reads every account",
            type(exc).__name__,
        )


def refuses_scripts(exc: BaseException) -> bool:
    """True for Redis's refusal of a script command (NOPERM for EVAL), told by Redis's
    reply alone (the rest of a pipeline's error quotes the command: keys, values)."""
    reply = reply_of(exc).lower()
    return "'eval" in reply or "'script" in reply


def username_field(username: str) -> str:
    """The accounts hash's field listing the accounts of ``username`` (matched
    case-insensitively, as lookups match it; named by digest, never in clear)."""
    digest = hashlib.sha256(username.lower().encode("utf-8", "surrogatepass")).hexdigest()
    return BY_USERNAME + digest


def queue_usernames(
    pipe: Any, listed: Sequence[tuple[bool, str, str, str]], fresh: bool
) -> list[str]:
    """Queue on ``pipe`` the index's updates for the accounts put and deleted in
    ``listed`` (put?, hash, username field, account field); the key of each command.
    ``fresh``: the accounts hash was deleted in this transaction (an import), so each
    username's list is written whole (one HSET) rather than merged by a script."""
    keys: list[str] = []
    if fresh:  # nothing to merge with: each username's list in one HSET
        lists: dict[tuple[str, str], list[str]] = {}
        for put, name, by_name, field in listed:
            fields = lists.setdefault((name, by_name), [])
            if field in fields:
                fields.remove(field)
            if put:
                fields.append(field)
        for (name, by_name), fields in lists.items():
            if fields:
                pipe.hset(name, by_name, json.dumps(fields))
                keys.append(name)
        return keys
    for put, name, by_name, field in listed:
        pipe.eval(INDEX_ADD if put else INDEX_DROP, 1, name, by_name, field)
        keys.append(name)
    return keys
