"""RedisStore against what it did not write itself (issue 11): values and keys another
writer left under its prefix, a lock key holding garbage, and a URL whose password
must not leak, on a real redis-server (loopback)."""

from __future__ import annotations

import traceback

import pytest

from tokensmith.errors import ConfigurationError
from tokensmith.stores import RedisStore


@pytest.mark.parametrize(
    "url", ["redis://:s3cret#x@127.0.0.1:6379/0", "redis://:s3cret/x@127.0.0.1/0"]
)
def test_a_url_that_does_not_parse_leaks_its_password_nowhere(url: str) -> None:
    # A password with an unescaped '#' or '/' cuts the URL short: redis-py's ValueError
    # then quotes the password as the port, and was chained to the ConfigurationError,
    # so a logged traceback (logger.exception, an error tracker) showed it.
    with pytest.raises(ConfigurationError, match="not a Redis URL") as raised:
        RedisStore(url=url)
    shown = "".join(traceback.format_exception(raised.value))
    assert "s3cret" not in shown
    assert "s3cret" not in repr((raised.value.__cause__, raised.value.__context__))
