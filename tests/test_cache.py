"""The derived-array cache: atomic entries, LRU bound, and the seqexp-cache report."""

from __future__ import annotations

import numpy as np

from seqexp.cli import cache
from seqexp.data import download


def arrays(n: int) -> dict[str, np.ndarray]:
    return {"x": np.arange(n, dtype=np.int64)}


def test_hit_after_miss_and_no_temporary_left(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return arrays(10)

    first, hit1 = download.cached_arrays("unit", {"a": 1}, compute)
    second, hit2 = download.cached_arrays("unit", {"a": 1}, compute)
    assert (hit1, hit2) == (False, True) and len(calls) == 1
    np.testing.assert_array_equal(first["x"], second["x"])
    assert not list((tmp_path / "cache" / "unit").glob("*.tmp"))


def test_failed_compute_leaves_nothing_half_written(tmp_path):
    def broken():
        raise KeyboardInterrupt

    try:
        download.cached_arrays("unit", {"a": 2}, broken)
    except KeyboardInterrupt:
        pass
    assert not list((tmp_path / "cache").rglob("*.npz"))
    assert not list((tmp_path / "cache").rglob("*.tmp"))


def test_corrupt_entry_is_rebuilt(tmp_path):
    download.cached_arrays("unit", {"a": 3}, lambda: arrays(5))
    (entry,) = (tmp_path / "cache" / "unit").glob("*.npz")
    entry.write_bytes(b"not an npz")
    again, hit = download.cached_arrays("unit", {"a": 3}, lambda: arrays(5))
    assert not hit and len(again["x"]) == 5


def test_cache_is_bounded_least_recently_used_first(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQEXP_CACHE_MAX_MB", str(2.5 * 8 * 100_000 / 2**20))  # ~2.5 entries
    for key in range(3):
        download.cached_arrays("unit", {"k": key}, lambda: arrays(100_000))
    download.cached_arrays("unit", {"k": 0}, lambda: arrays(100_000))  # touch 0: recent
    download.cached_arrays("unit", {"k": 3}, lambda: arrays(100_000))  # evicts 1 and 2
    assert len(download.cache_entries()) == 2
    _, hit0 = download.cached_arrays("unit", {"k": 0}, lambda: arrays(100_000))
    assert hit0


def test_report_and_clear(tmp_path, capsys):
    download.cached_arrays("unit", {"a": 4}, lambda: arrays(1000))
    cache.main([])
    out = capsys.readouterr().out
    assert str(tmp_path / "cache") in out and "unit" in out and "at most 4096 MB" in out
    cache.main(["--clear", "unit"])
    assert "removed" in capsys.readouterr().out
    assert not (tmp_path / "cache" / "unit").exists()


def test_input_hashes_are_read_once_per_file_version(tmp_path, monkeypatch):
    """sha256 of inputs cached by (path, size, mtime): a sweep reads each file once."""
    import hashlib
    import os
    import subprocess
    import sys

    data = tmp_path / "data.csv"
    data.write_bytes(b"a,b\n1,2\n")
    folder = tmp_path / "aclImdb"
    (folder / "train").mkdir(parents=True)
    (folder / "train" / "1_7.txt").write_text("good")
    reads = []
    real = download._sha256_of
    monkeypatch.setattr(download, "_sha256_of", lambda *a: reads.append(a[0]) or real(*a))
    first = download.sha256sum(data)
    assert first == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert download.sha256sum(data) == first and download.sha256sum(str(data)) == first
    assert reads == [data]
    # another process (a sweep's next job) finds it too, without reading the file
    code = "import sys; from seqexp.data import download; print(download.sha256sum(sys.argv[1]))"
    other = subprocess.run([sys.executable, "-c", code, str(data)], capture_output=True,
                           text=True, env={**os.environ}, check=True)
    assert other.stdout.strip() == first
    data.write_bytes(b"a,b\n1,3\n")  # same size, new content and mtime: read again
    os.utime(data, ns=(data.stat().st_atime_ns, data.stat().st_mtime_ns + 10**9))
    assert download.sha256sum(data) == hashlib.sha256(b"a,b\n1,3\n").hexdigest()
    tree = download.sha256sum(folder)
    assert download.sha256sum(folder) == tree and reads == [data, data, folder]
    (folder / "train" / "2_3.txt").write_text("bad")  # a new file in the folder
    assert download.sha256sum(folder) != tree and reads[-1] == folder
    assert not list((tmp_path / "cache" / "hashes").glob(".*"))  # no temporary left
