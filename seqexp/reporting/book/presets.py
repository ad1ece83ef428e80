"""The book presets (``conf/experiment/book/``) as ``seqexp`` composes them, each with what the
book reports for it (its ``book:`` block)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from seqexp import tasks
from seqexp.tasks import Task

CHAPTER = "6"  # the table is chapter 6's; other book presets (8.1) run when named by --only


@dataclass
class Preset:
    """One book preset and what the book reports for it (its ``book:`` block)."""

    name: str  # file stem, e.g. "6.39-gru"
    dataset: str  # jena, imdb, raw-imdb, text
    encoder: str | None
    encoder_dim: int | None
    book: dict[str, Any]

    @property
    def listing(self) -> str:
        return str(self.book.get("listing") or self.name.split("-")[0])

    @property
    def task(self) -> Task:
        """The task of the preset's dataset (its schema's ``task``)."""
        from seqexp.data import DATASETS

        return tasks.get(DATASETS.options()[self.dataset].task)

    @property
    def metric(self) -> str:
        return self.book.get("metric") or f"best_val_{self.task.metric}"

    @property
    def lower_is_better(self) -> bool:
        return self.task.lower_is_better

    @property
    def chapter(self) -> str:
        return self.listing.split(".")[0]


def book_dir() -> Path:
    return Path(str(resources.files("seqexp.conf").joinpath("experiment", "book")))


def load_presets(names: list[str] | None = None) -> list[Preset]:
    """Every book preset (or those named), in listing order, composed as ``seqexp`` composes
    them: its dataset, encoder and ``book:`` block."""
    from hydra import compose, initialize_config_module

    from seqexp.config import schemas

    schemas.register()
    # _jena.yaml & co. hold what the listings share: not listings themselves
    names = names or [p.stem for p in book_dir().glob("*.yaml") if not p.stem.startswith("_")]
    presets = []
    with initialize_config_module(version_base="1.3", config_module="seqexp.conf"):
        for name in names:
            cfg = compose("config", overrides=[f"experiment=book/{name}"])
            block = OmegaConf.to_container(cfg.book) if cfg.get("book") else {}
            presets.append(Preset(name=name, dataset=cfg.dataset.name,
                                  encoder=cfg.encoder.name, encoder_dim=cfg.encoder.get("dim"),
                                  book=block))
    return sorted(presets, key=lambda p: tuple(int(n) for n in p.listing.split(".")[:2]))
