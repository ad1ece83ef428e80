"""Registration by name: every option's schema has its builder, options reach Hydra's
ConfigStore without a YAML file, and a new model family is one module (schema + builder)."""

from __future__ import annotations

import dataclasses
import gc

import pytest
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from seqexp import data, encoders, models
from seqexp.config import schemas
from seqexp.config.registry import name_of, option
from seqexp.models import ModelConfig
from seqexp.tasks.regression import REGRESSION
from tests.conftest import compose_cfg


@pytest.mark.parametrize("group", ["dataset", "encoder", "model"])
def test_every_option_has_a_builder(group):
    registry = schemas.GROUPS[group]
    for name in registry.options():
        if name != "auto":  # resolved to the dataset's default encoder before building
            assert callable(registry.builder(name)), (group, name)


def test_options_are_stored_without_yaml():
    repo = ConfigStore.instance().repo
    assert {"gru.yaml", "conv-gru.yaml"} <= set(repo["model"])
    assert {"onehot.yaml", "auto.yaml"} <= set(repo["encoder"])
    assert {"jena.yaml", "raw-imdb.yaml"} <= set(repo["dataset"])


def test_unknown_builder_names_the_choices():
    with pytest.raises(Exception, match="model=nope is not implemented: use one of .*gru"):
        models.MODELS.builder("nope")
    with pytest.raises(Exception, match="dataset.loader=nope is not implemented"):
        data.load(OmegaConf.create({"loader": "nope"}))
    assert encoders.ENCODERS.schema("glove").__name__ == "GloveConfig"


def test_a_schema_needs_a_name():
    @dataclasses.dataclass
    class Nameless(ModelConfig):
        units: int = 1

    with pytest.raises(TypeError, match="give its 'name' field a default"):
        name_of(Nameless)


def test_a_new_model_is_its_schema_and_builder():
    """What README's "Extending seqexp" shows: declare, register, and `model=tiny` works."""
    try:
        _declare_and_build_tiny()
    finally:  # leave the registry and the ConfigStore as they were
        models.MODELS._builders.pop("tiny", None)
        ConfigStore.instance().repo["model"].pop("tiny.yaml", None)
        gc.collect()
    assert "tiny" not in models.MODELS.options()


def _declare_and_build_tiny():
    @dataclasses.dataclass
    class TinyConfig(ModelConfig):
        name: str = "tiny"
        units: int = option(4, "Dense units", min=1)

    @models.register(TinyConfig)
    def tiny(spec, cfg):
        import keras

        return [keras.layers.Flatten(), keras.layers.Dense(cfg.units)]

    schemas.register()
    cfg = compose_cfg("model=tiny", "model.units=3")
    assert OmegaConf.get_type(cfg.model) is TinyConfig and cfg.model.units == 3
    model = models.build(encoders.InputSpec(shape=(5, 2)), [], cfg.model, REGRESSION)
    assert model.layers[-2].units == 3
