"""Files that are never seen half-written, and a lock between processes: the one copy used
by backups, the outage buffer, the cache, the sweep's progress file and the store's lock."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

# writers that name their format by the file's ending (Keras, numpy) are given it
KNOWN_ENDINGS = (".weights.h5", ".keras", ".npy", ".npz")


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target`` (same ending); on success it is flushed to
    disk and renamed onto ``target``. A crash or interrupt leaves ``target`` as it was and
    no temporary file behind."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = next((end for end in KNOWN_ENDINGS if target.name.endswith(end)), ".tmp")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_atomic(target: str | Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` to a temporary file beside ``target``, then move it into place."""
    with atomic_path(target) as tmp:
        write(tmp)


@contextlib.contextmanager
def file_lock(path: str | Path) -> Iterator[None]:
    """An exclusive lock between processes on ``path`` (created if missing)."""
    import fcntl

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
