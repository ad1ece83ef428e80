"""What a file given to seqexp must look like, checked before TensorFlow is imported.

A dataset or encoder schema declares the formats each of its path keys takes
(``files = {"path": ("csv", "zip")}``); :func:`check_inputs` looks at every such path the
composed config sets: it exists, it is a folder or a regular file as the formats allow, a file
is not empty, its name ends as one of the formats does and its first bytes are that format's
(a zip's central directory, gzip's magic, a tar header, JSON's opening bracket, text without
NUL bytes). A problem is one line naming the key, what was found and what to give instead,
in well under a second; reading the content itself stays the loaders' job.
"""

from __future__ import annotations

import dataclasses
import gzip
import stat
import tarfile
import zipfile
import zlib
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from seqexp.errors import SeqexpError

# format: (file name endings, what it is called in a message)
FORMATS: dict[str, tuple[tuple[str, ...], str]] = {
    "csv": ((".csv",), "a .csv file"),
    "zip": ((".zip",), "a .zip"),
    "npz": ((".npz",), "an .npz"),
    "json": ((".json",), "a .json file"),
    "txt": ((".txt",), "a UTF-8 .txt file"),
    "txt.gz": ((".txt.gz",), "a .txt.gz"),
    "tar.gz": ((".tar.gz", ".tgz"), "a .tar.gz"),
    "tar": ((".tar",), "a .tar"),
    "folder": ((), "a folder"),
}
HEAD = 1 << 16  # bytes looked at for text


def check_inputs(cfg: DictConfig) -> None:
    """Every path the dataset and encoder schemas declare, as set in ``cfg``."""
    for group in ("dataset", "encoder"):
        schema = OmegaConf.get_type(cfg[group])
        if not (isinstance(schema, type) and dataclasses.is_dataclass(schema)):
            continue
        formats = schema.input_formats(OmegaConf.to_object(cfg[group]))
        for key, allowed in formats.items():
            value = cfg[group].get(key)
            if value is not None:
                check_path(f"{group}.{key}", str(value), allowed,
                           download=bool(cfg[group].get("url")))


def wanted(formats: tuple[str, ...]) -> str:
    names = [FORMATS[f][1] for f in formats]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def check_path(key: str, value: str, formats: tuple[str, ...], download: bool = False) -> None:
    """One path against the formats it may have; raise SeqexpError naming the fix."""
    give = f"give {wanted(formats)}" + (f" (or {key}=null to download it)" if download else "")
    path = Path(value).expanduser()
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SeqexpError(f"{key}={value} does not exist: {give}") from None
    except OSError as err:
        raise SeqexpError(f"{key}={value} cannot be read ({err.strerror}): {give}") from None
    if stat.S_ISDIR(info.st_mode):
        if "folder" not in formats:
            raise SeqexpError(f"{key}={value} is a folder: {give}")
        return
    if not stat.S_ISREG(info.st_mode):
        raise SeqexpError(f"{key}={value} is not a regular file (a device, pipe or socket): "
                          f"{give}")
    if info.st_size == 0:
        raise SeqexpError(f"{key}={value} is empty (0 bytes): {give}")
    name = path.name.lower()
    fmt = next((f for f in formats for end in FORMATS[f][0] if name.endswith(end)), None)
    if fmt is None:
        raise SeqexpError(f"{key}={value} is not named as {wanted(formats)}: {give}")
    problem = content_problem(path, fmt)
    if problem:
        raise SeqexpError(f"{key}={value} {problem}: {give}")


def content_problem(path: Path, fmt: str) -> str | None:
    """What is wrong with the first bytes of ``path`` for ``fmt``, or None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD)
        if fmt in ("zip", "npz"):
            return None if zipfile.is_zipfile(path) else ("is not a zip archive, or is "
                                                          "truncated (no central directory)")
        if fmt in ("tar.gz", "txt.gz"):
            if head[:2] != b"\x1f\x8b":
                return f"is not gzip-compressed ({describe(head)})"
            with gzip.open(path, "rb") as fh:
                inner = fh.read(1024 if fmt == "tar.gz" else HEAD)
            if fmt == "tar.gz":
                return None if is_tar_header(inner) else "holds no tar archive"
            return "holds binary data, not text" if b"\0" in inner else None
        if fmt == "tar":
            return None if tarfile.is_tarfile(path) else f"is not a tar archive ({describe(head)})"
        kind = magic(head)
        if kind:
            return f"is {kind}, not {fmt.upper()} text: rename it or pass it as such"
        if b"\0" in head:
            return "holds binary data, not text"
        if fmt == "json" and head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] not in (b"{", b"["):
            return "is not JSON (it does not start with { or [)"
    except (OSError, EOFError, zlib.error) as err:
        return f"cannot be read ({type(err).__name__}: {str(err)[:80]})"
    return None


def is_tar_header(block: bytes) -> bool:
    """A POSIX or GNU tar header (``ustar`` at offset 257): what tar, Python and GitHub write."""
    return len(block) >= 512 and block[257:262] == b"ustar"


def magic(head: bytes) -> str | None:
    """The archive or compressed format ``head`` starts as, if any."""
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "a zip archive"
    if head[:2] == b"\x1f\x8b":
        return "gzip-compressed"
    if head[:6] == b"\x93NUMPY":
        return "a numpy array"
    if head[:8] == b"\x89HDF\r\n\x1a\n":
        return "an HDF5 file"
    return None


def describe(head: bytes) -> str:
    kind = magic(head)
    if kind:
        return f"it is {kind}"
    return "it holds text" if b"\0" not in head[:HEAD] else "unknown binary data"
