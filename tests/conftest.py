"""Shared fixtures: configs composed exactly as the CLI composes them, then shrunk, and
data generated in the real formats (no download, nothing from ../shared)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pytest  # noqa: E402
from hydra import compose, initialize_config_module  # noqa: E402

from seqexp.config import schemas  # noqa: E402
from seqexp.data.synthetic import write_jena_csv  # noqa: E402

schemas.register()

# A small Jena-format record and splits/windows scaled to it (book ratios, 10x smaller).
SMALL_JENA = ["dataset.lookback=144", "dataset.step=6", "dataset.delay=12",
              "dataset.train=[0,2400]", "dataset.val=[2401,3200]", "dataset.test=[3201,null]"]


def compose_cfg(*overrides: str, validate: bool = True):
    """Compose ``conf/config.yaml`` with CLI-style overrides (no Hydra run)."""
    with initialize_config_module(version_base="1.3", config_module="seqexp.conf"):
        cfg = compose("config", overrides=list(overrides))
    if validate:
        schemas.validate(cfg)
    return cfg


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Every test gets its own cache, working directory and no inherited tracking URI."""
    monkeypatch.setenv("SEQEXP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("SEQEXP_PARENT_RUN_ID", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def jena_csv(tmp_path_factory):
    """A 4,000-row generated record in the exact Jena CSV format."""
    return write_jena_csv(tmp_path_factory.mktemp("jena") / "jena_climate_2009_2016.csv",
                          rows=4000, seed=3)


@pytest.fixture(scope="session")
def jena_zip(tmp_path_factory):
    return write_jena_csv(tmp_path_factory.mktemp("jenazip") / "jena_climate_2009_2016.csv.zip",
                          rows=4000, seed=3)


@pytest.fixture(scope="session")
def new_store(tmp_path_factory):
    """``new_store(path) -> uri``: an empty MLflow sqlite store at ``path``, ready to use.
    MLflow builds a new store's schema by running its migrations (4 s here, 13 s under load):
    tests whose subject is not that copy one built once per session."""
    import shutil

    from mlflow.tracking import MlflowClient

    template = tmp_path_factory.mktemp("store") / "template.db"
    MlflowClient(tracking_uri=f"sqlite:///{template}").search_experiments()

    def make(path) -> str:
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"

    return make
