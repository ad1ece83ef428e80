"""Find a dataset's file: a local path the user gave, or a cached download (Keras's
``get_file``) from the canonical address. Also the sha256 and atomic-write helpers that
caches of derived arrays use.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

from seqexp.errors import SeqexpError


def cache_dir() -> Path:
    """Root of seqexp's caches: ``$SEQEXP_CACHE_DIR`` or ``~/.cache/seqexp``."""
    root = os.environ.get("SEQEXP_CACHE_DIR") or Path.home() / ".cache" / "seqexp"
    return Path(root)


def local_or_download(path: str | None, url: str, option: str, sha256: str | None = None) -> Path:
    """The user's local file if ``path`` is set (it must exist), else a cached download."""
    if path:
        local = Path(path).expanduser()
        if not local.exists():
            raise SeqexpError(f"{option}={path} does not exist: give the path of a local copy, "
                              f"or {option}=null to download {url}")
        return local
    return download(url, option, sha256)


def download(url: str, option: str, sha256: str | None = None) -> Path:
    """Download ``url`` once into the cache and return the cached file.

    A checksum mismatch deletes the bad file and retries once; no network fails with one line
    that says how to use a local copy instead.
    """
    from keras.utils import get_file

    name = Path(urlparse(url).path).name
    for attempt in (1, 2):
        try:
            return Path(get_file(fname=name, origin=url, file_hash=sha256,
                                 cache_dir=str(cache_dir()), cache_subdir="downloads"))
        except ValueError as err:  # Keras: the file's hash does not match
            bad = cache_dir() / "downloads" / name
            bad.unlink(missing_ok=True)
            if attempt == 2:
                raise SeqexpError(f"the download of {url} does not match its sha256 twice "
                                  f"({err}); download it yourself and pass {option}=<file>"
                                  ) from None
        except Exception as err:  # Keras wraps URLError/HTTPError in a bare Exception
            raise SeqexpError(
                f"cannot download {url} ({err.__class__.__name__}: {str(err)[:120]}); "
                f"if you are offline, pass a local copy with {option}=/path/to/{name}"
            ) from None
    raise AssertionError("unreachable")


def sha256sum(path: str | Path) -> str:
    """sha256 of a file, or of every file below a folder (names and bytes, sorted)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it into place only on success.

    A crash or interrupt leaves no half-written ``target`` (the temporary file is removed).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)
