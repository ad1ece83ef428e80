"""The data at hand for each preset: the local files given on the command line, or a download
that answers; and the overrides that point a preset's run at them (``--quick``, scoped
``DATASET:KEY=VALUE`` overrides)."""

from __future__ import annotations

import functools
import gzip
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from seqexp.reporting.book.presets import Preset


def download_url(option: str) -> str:
    """Where a dataset (``jena``, ``imdb``, ``raw-imdb``) or the GloVe vectors (``glove``)
    download from: their schema's ``url``."""
    from seqexp.data import DATASETS
    from seqexp.encoders import ENCODERS

    schema = DATASETS.options().get(option) or ENCODERS.options()[option]
    return schema().url


@dataclass
class Sources:
    """The local files given on the command line, and whether downloads are possible."""

    jena: Path | None = None
    imdb: Path | None = None
    word_index: Path | None = None
    raw_imdb: Path | None = None
    glove: Path | None = None
    online: bool = False
    notes: dict[str, str] = field(default_factory=dict)


@functools.cache
def reachable(url: str, timeout: float = 5.0) -> bool:
    """Whether ``url`` answers (a HEAD request), or its download is cached already."""
    from seqexp.data.download import DOWNLOADS, cache_dir

    if (cache_dir() / DOWNLOADS / Path(url).name).exists():
        return True
    try:
        request = urllib.request.Request(url, method="HEAD")
        with urllib.request.urlopen(request, timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def glove_dim(path: Path) -> int | None:
    """The dimension of the vectors in a GloVe ``.txt`` / ``.txt.gz`` (None for a ``.zip``,
    which may hold several: the preset's dimension is then looked for in it)."""
    if path.suffix == ".zip":
        return None
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            first = handle.readline().rstrip("\n").split(" ")
    except (OSError, UnicodeDecodeError):
        return None
    return len(first) - 1 if len(first) > 1 else None


def plan(preset: Preset, src: Sources) -> tuple[dict[str, Any] | None, str]:
    """The overrides that point ``preset`` at its data, or None and why it is skipped."""
    def online(what: str) -> bool:
        return src.online and reachable(download_url(what))

    out: dict[str, Any] = {}
    if preset.dataset == "jena":
        if src.jena:
            out["dataset"] = {"path": str(src.jena)}
        elif not online("jena"):
            return None, ("no Jena record: pass --jena jena_climate_2009_2016.csv(.zip) "
                          "or run online")
    elif preset.dataset == "imdb":
        if src.imdb:
            index = src.word_index or src.imdb.with_name("imdb_word_index.json")
            if not index.exists() and not src.online:
                return None, (f"no word index: {index} does not exist; pass --word-index "
                              "imdb_word_index.json or run online")
            out["dataset"] = {"path": str(src.imdb)}
            if index.exists():
                out["dataset"]["word_index_path"] = str(index)
        elif not online("imdb"):
            return None, "no imdb.npz: pass --imdb imdb.npz (Keras's) or run online"
    elif preset.dataset == "raw-imdb":
        if src.raw_imdb:
            out["dataset"] = {"path": str(src.raw_imdb)}
        elif not online("raw-imdb"):
            return None, ("no raw IMDB reviews: pass --raw-imdb aclImdb (folder or "
                          "aclImdb_v1.tar.gz) or run online")
    elif preset.dataset != "text":  # text: the bundled corpus, or text:dataset.path=...
        return None, f"seqexp-book does not know dataset={preset.dataset}"
    if preset.encoder == "glove":
        if src.glove:
            out["encoder"] = {"path": str(src.glove)}
            dim = glove_dim(src.glove)
            if dim and dim != preset.encoder_dim:
                out["encoder"]["dim"] = dim
        elif not online("glove"):
            return None, "no GloVe vectors: pass --glove glove.6B.100d.txt(.gz) or run online"
    return out, ""


def quick_overrides(preset: Preset) -> dict[str, Any]:
    """``--quick``: one short epoch on fewer validation examples (a smoke run)."""
    out: dict[str, Any] = {"trainer": {"epochs": 1, "steps_per_epoch": 3}}
    if preset.dataset == "jena":
        out["dataset"] = {"stride": 60}  # a window every 10 hours: few validation batches
    elif preset.dataset == "raw-imdb":
        out["dataset"] = {"train_samples": 100, "val_samples": 200}
    return out


def scoped_overrides(items: list[str], preset: Preset) -> dict[str, Any]:
    """The command line's ``DATASET:KEY=VALUE`` overrides that apply to ``preset`` (those
    whose DATASET is the preset's), as a config tree for its run file."""
    mine = []
    for item in items:
        scope, sep, rest = item.partition(":")
        if sep and "=" not in scope and scope == preset.dataset:
            mine.append(rest)
    return OmegaConf.to_container(OmegaConf.from_dotlist(mine)) if mine else {}


def split_overrides(items: list[str]) -> tuple[list[str], list[str]]:
    """Overrides for every job (``KEY=VALUE``) and scoped ones (``DATASET:KEY=VALUE``)."""
    scoped = [i for i in items if ":" in i.split("=", 1)[0]]
    return [i for i in items if i not in scoped], scoped


def deviations(preset: Preset, overrides: dict[str, Any], quick: bool) -> str:
    """What differs from the book in this run (shown in the table)."""
    notes = []
    dim = (overrides.get("encoder") or {}).get("dim")
    if dim:
        notes.append(f"GloVe {dim}d (book: {preset.encoder_dim}d)")
    if quick:
        notes.append("--quick")
    return "; ".join(notes)
