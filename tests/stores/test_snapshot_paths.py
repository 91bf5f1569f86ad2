"""Snapshot stores over what is not a regular file at their path, and the sweep of
temporaries other writers left beside it."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tokensmith.errors import StoreError
from tokensmith.stores import FileStore, PersistentTokenCache
from tokensmith.stores.snapshot import NotARegularFile, read_regular


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_folder_at_the_cache_path_is_a_store_error_and_leaks_no_descriptor(
    tmp_path: Path,
) -> None:
    # os.open opens a folder read-only; os.fdopen then raised a bare IsADirectoryError
    # from every lookup and left the descriptor open.
    folder = tmp_path / "cache.json"
    folder.mkdir()
    before = _open_fds()
    for _ in range(3):
        with pytest.raises(NotARegularFile, match="not a regular file"):
            read_regular(folder)
    assert _open_fds() == before
    cache = PersistentTokenCache(FileStore(folder))
    with pytest.raises(StoreError, match="not a regular file"):
        cache.find_accounts()
    assert _open_fds() == before
    assert folder.is_dir()


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_an_import_over_what_is_not_a_file_refuses_and_moves_nothing(
    tmp_path: Path, kind: str
) -> None:
    # deserialize() took any unreadable snapshot for a damaged one: it renamed a named
    # pipe (or a folder) at the path to ".corrupt-..." and wrote a new file in its place.
    path = tmp_path / "cache.json"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    cache = PersistentTokenCache(FileStore(path))
    with pytest.raises(StoreError, match="not a regular file"):
        cache.deserialize('{"AccessToken": {}}')
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lockfile")) == [
        "cache.json"
    ]
    assert not path.is_file()


def test_a_young_temporary_of_a_pid_unknown_here_is_kept(tmp_path: Path) -> None:
    # A writer on another host sharing the folder has a pid that means nothing here: its
    # temporary, swept as a dead writer's, failed that writer's rename.
    path = tmp_path / "cache.json"
    young = tmp_path / ".cache.json.999999999.0badcafe.tmp"
    old = tmp_path / ".cache.json.999999998.0badcafe.tmp"
    young.write_text("{}")
    old.write_text("{}")
    os.utime(old, (time.time() - 120, time.time() - 120))
    FileStore(path)
    assert young.exists()
    assert not old.exists()


@pytest.fixture
def short_folder() -> Iterator[Path]:
    """A folder whose path fits a Unix socket's (about 100 bytes; tmp_path may not)."""
    folder = Path(tempfile.mkdtemp(prefix="ts-", dir="/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("through", ["at the path", "behind a link"])
def test_a_socket_at_the_cache_path_is_not_a_regular_file_and_is_not_moved(
    short_folder: Path, through: str
) -> None:
    # A socket cannot be opened at all (ENXIO): that failure was taken for an unreadable
    # snapshot, so an import renamed the socket to ".corrupt-..." and wrote a file there.
    tmp_path = short_folder
    sock = tmp_path / "cache.json" if through == "at the path" else tmp_path / "agent.sock"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(sock))
        path = tmp_path / "cache.json"
        if through == "behind a link":
            path.symlink_to(sock)
        with pytest.raises(NotARegularFile, match="not a regular file"):
            read_regular(path)
        cache = PersistentTokenCache(FileStore(path))
        with pytest.raises(StoreError, match="not a regular file"):
            cache.deserialize('{"AccessToken": {}}')
    finally:
        server.close()
    assert stat.S_ISSOCK(os.lstat(sock).st_mode)
    assert not [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]


@pytest.mark.parametrize("platform", ["win32", "linux"])
def test_a_sharing_violation_on_windows_is_waited_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: str
) -> None:
    # On Windows a file another process holds open (msal-extensions reads with open(),
    # which does not share deletion) cannot be replaced until it is closed: the write
    # failed at once with a StoreError. POSIX never refuses so: no retry there.
    from tokensmith.stores import _files, _media

    refusals = [PermissionError(13, "sharing violation")] * 3
    real_replace = os.replace

    def replace(src: Any, dst: Any) -> None:
        if refusals:
            raise refusals.pop()
        real_replace(src, dst)

    monkeypatch.setattr(_files.sys, "platform", platform)
    monkeypatch.setattr(_files.os, "replace", replace)
    medium = _media.FileMedium(tmp_path / "cache.json")
    naps: list[float] = []
    if platform == "win32":
        _files._replace(*_temp_and_target(tmp_path), sleep=naps.append)
        assert naps == [0.001, 0.002, 0.004] and not refusals
        medium.write_bytes(b"{}")  # (the real write path takes the same rename)
        assert (tmp_path / "cache.json").read_bytes() == b"{}"
    else:
        with pytest.raises(StoreError, match="cannot write"):
            medium.write_bytes(b"{}")
        assert len(refusals) == 2  # one try
        assert not list(tmp_path.glob(".*.tmp"))  # its temporary went


def test_a_file_held_open_past_a_quarter_second_fails_the_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # docs/persistence.md: the rename is tried again for about a quarter of a second
    # (from 1 ms, doubling), then the write raises
    from tokensmith.stores import _files

    def replace(src: Any, dst: Any) -> None:
        raise PermissionError(13, "sharing violation")

    monkeypatch.setattr(_files.sys, "platform", "win32")
    monkeypatch.setattr(_files.os, "replace", replace)
    naps: list[float] = []
    with pytest.raises(PermissionError):
        _files._replace(*_temp_and_target(tmp_path), sleep=naps.append)
    assert naps == [0.001 * 2**n for n in range(8)]
    assert 0.25 <= sum(naps) < 0.3


def _temp_and_target(folder: Path) -> tuple[Path, Path]:
    temp = folder / ".x.tmp"
    temp.write_bytes(b"x")
    return temp, folder / "x"
