"""Find a dataset's file: a local path the user gave, or a cached download (Keras's
``get_file``) from the canonical address; and the cache of derived arrays (vectorized
text), written atomically and kept under a size bound (least recently used entries go
first). ``seqexp-cache`` (:mod:`seqexp.cli.cache`) reports and clears it.

Layout under :func:`cache_dir`: ``downloads/`` (datasets and vectors as downloaded; never
evicted) and one folder of ``.npz`` entries per namespace (``imdb``, ``raw-imdb``, ...).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from seqexp import progress
from seqexp.errors import SeqexpError
from seqexp.files import atomic_path, file_lock

log = logging.getLogger(__name__)
DOWNLOADS = "downloads"
HASHES = "hashes"  # sha256 of input files, keyed by (path, size, mtime)
DEFAULT_MAX_MB = 4096


def cache_dir() -> Path:
    """Root of seqexp's caches: ``$SEQEXP_CACHE_DIR`` or ``~/.cache/seqexp``."""
    root = os.environ.get("SEQEXP_CACHE_DIR") or Path.home() / ".cache" / "seqexp"
    return Path(root)


def cache_limit_bytes() -> int:
    """Bound on the derived-array cache: ``$SEQEXP_CACHE_MAX_MB`` (default 4096 MB)."""
    return int(float(os.environ.get("SEQEXP_CACHE_MAX_MB", DEFAULT_MAX_MB)) * 2**20)


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
    """Download ``url`` once into ``cache_dir()/downloads`` and return the cached file.

    The file appears there only when complete (downloaded into a temporary folder, checked,
    then moved), and parallel jobs wait on a lock instead of downloading it twice. A
    checksum mismatch deletes the bad file and retries once; no network fails with one line
    that says how to use a local copy instead. The transfer is a progress stage (a bar on a
    terminal, one line otherwise).
    """
    name = Path(urlparse(url).path).name
    folder = cache_dir() / DOWNLOADS
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    with file_lock(folder / f".{name}.lock"):
        if target.exists() and (sha256 is None or sha256sum(target) == sha256):
            return target
        for attempt in (1, 2):
            scratch = Path(tempfile.mkdtemp(dir=folder, prefix=f".{name}."))
            try:
                got = _fetch(url, scratch / name)
                if sha256 is not None and _sha256_of(got, [got]) != sha256:
                    if attempt == 2:
                        raise SeqexpError(f"the download of {url} does not match its sha256 "
                                          f"twice (expected {sha256}); download it yourself "
                                          f"and pass {option}=<file>")
                    continue
                os.replace(got, target)
                return target
            except OSError as err:  # urllib's URLError/HTTPError, a short read, a full disk
                raise SeqexpError(
                    f"cannot download {url} ({err.__class__.__name__}: {str(err)[:120]}); "
                    f"if you are offline, pass a local copy with {option}=/path/to/{name}"
                ) from None
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    raise AssertionError("unreachable")


def _fetch(url: str, path: Path) -> Path:
    """``urlretrieve`` into ``path``, its blocks counted by a progress stage."""
    from urllib.request import urlretrieve

    with progress.stage(f"downloaded {path.name}", unit="B") as bar:
        def hook(blocks: int, block_size: int, total: int) -> None:
            if total > 0 and bar.total is None:
                bar.set_total(total)
            bar.update_to(min(blocks * block_size, total) if total > 0 else blocks * block_size)

        urlretrieve(url, path, hook)
    return path


def sha256sum(path: str | Path) -> str:
    """sha256 of a file, or of every file below a folder (names and bytes, sorted).

    Cached under ``cache_dir()/hashes`` by the path, size and modification time (ns) of
    each file, so a sweep reads each input once; a changed file (new size or mtime) is read
    again. Entries are written atomically: parallel jobs at worst both hash a new file."""
    path = Path(path).resolve()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    stamp = hashlib.sha256(str(path).encode())
    for file in files:
        info = file.stat()
        stamp.update(f"\0{file}\0{info.st_size}\0{info.st_mtime_ns}".encode())
    entry = cache_dir() / HASHES / f"{stamp.hexdigest()[:40]}.sha256"
    try:
        cached = entry.read_text().strip()
        if len(cached) == 64:
            return cached
    except OSError:
        pass
    digest = _sha256_of(path, files)
    try:
        with atomic_path(entry) as tmp:
            tmp.write_text(digest)
    except OSError as err:  # a read-only cache only costs the next job a re-read
        log.warning("cannot cache the sha256 of %s (%s)", path, err)
    return digest


def _sha256_of(path: Path, files: list[Path]) -> str:
    """The digest itself, a progress stage in bytes (an 822 MB GloVe zip takes seconds)."""
    digest = hashlib.sha256()
    with progress.stage(f"hashed {path.name}", total=sum(f.stat().st_size for f in files),
                        unit="B") as bar:
        for file in files:
            if path.is_dir():
                digest.update(str(file.relative_to(path)).encode())
            with open(file, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
                    bar.update(len(chunk))
    return digest.hexdigest()


def cached_arrays(namespace: str, key: dict, compute: Callable[[], dict[str, np.ndarray]],
                  ) -> tuple[dict[str, np.ndarray], bool]:
    """``compute()``'s arrays, stored once under ``cache_dir()/namespace`` keyed by ``key``.

    ``key`` must name everything the arrays depend on (the data file's sha256 and every
    setting). Returns the arrays and whether they came from the cache. The file is written
    atomically; an unreadable or mismatching entry is recomputed. Never unpickles. After a
    write, the least recently used entries are evicted down to :func:`cache_limit_bytes`.
    """
    text = json.dumps(key, sort_keys=True, default=str)
    path = cache_dir() / namespace / f"{hashlib.sha256(text.encode()).hexdigest()[:40]}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
            if str(arrays.pop("__key__")) == text:
                log.info("cache hit: %s", path)
                os.utime(path)  # recently used: evicted last
                return arrays, True
        except Exception as err:  # a damaged entry is rebuilt, never trusted
            log.warning("ignoring unreadable cache entry %s (%s)", path, err)
    arrays = compute()
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, __key__=np.array(text), **arrays)
    log.info("cached: %s", path)
    evict(keep=path)
    return arrays, False


def cache_entries() -> list[Path]:
    """Derived-array entries (not downloads), least recently used first."""
    root = cache_dir()
    if not root.is_dir():
        return []
    stamped = []
    for entry in root.glob("*/*.npz"):
        if entry.parent.name == DOWNLOADS:
            continue
        try:  # another job may evict it meanwhile
            stamped.append((entry.stat().st_mtime, entry.stat().st_size, entry))
        except FileNotFoundError:
            continue
    return [entry for *_, entry in sorted(stamped, key=lambda t: t[0])]


def evict(keep: Path | None = None, limit: int | None = None) -> list[Path]:
    """Delete least recently used entries until the derived cache fits ``limit`` bytes."""
    limit = cache_limit_bytes() if limit is None else limit
    sizes = {entry: file_size(entry) for entry in cache_entries()}
    total = sum(sizes.values())
    removed = []
    for entry, size in sizes.items():
        if total <= limit:
            break
        if entry == keep:
            continue
        total -= size
        entry.unlink(missing_ok=True)
        removed.append(entry)
        log.info("cache: evicted %s", entry)
    return removed


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
