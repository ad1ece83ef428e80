"""Composition of every group option, schema validation and refused combinations."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import OmegaConf

from seqexp.config import schemas
from seqexp.errors import SeqexpError
from tests.conftest import compose_cfg

DATASETS = ["jena", "jena-sample", "imdb", "raw-imdb"]
MODELS = list(schemas.GROUPS["model"].options())


@pytest.mark.parametrize("model", MODELS)
def test_every_model_composes_on_jena(model):
    cfg = compose_cfg(f"model={model}", "dataset=jena")
    assert cfg.model.name == model
    assert OmegaConf.get_type(cfg.model) is schemas.GROUPS["model"].options()[model]
    assert cfg.encoder.name == "numeric"  # encoder=auto resolves to the dataset's default


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_dataset_composes(dataset):
    cfg = compose_cfg(f"dataset={dataset}", "model=lstm")
    assert cfg.dataset.name == dataset
    assert cfg.encoder.name == cfg.dataset.default_encoder


@pytest.mark.parametrize("encoder", ["onehot", "hash", "embedding", "glove"])
def test_text_encoders_compose(encoder):
    model = "dense" if encoder in ("onehot", "hash") else "gru"
    cfg = compose_cfg("dataset=raw-imdb", f"encoder={encoder}", f"model={model}")
    assert cfg.encoder.name == encoder


def test_defaults_are_the_offline_sample():
    cfg = compose_cfg()
    assert cfg.dataset.name == "jena-sample"
    assert cfg.dataset.path.endswith("jena_sample.csv.zip")
    # the sample: half the book's lookback, one window per hour (see jena-sample.yaml)
    d = cfg.dataset
    assert (d.lookback, d.step, d.delay, d.stride) == (720, 6, 144, 6)


def test_jena_book_defaults():
    d = compose_cfg("dataset=jena").dataset
    assert list(d.train) == [0, 200000] and list(d.val) == [200001, 300000]
    assert list(d.test) == [300001, None] and d.target == "T (degC)"
    assert d.path is None and d.url.endswith("jena_climate_2009_2016.csv.zip")


def test_split_bounds_are_start_inclusive_stop_exclusive():
    """[start, stop) like a Python slice: a split may start where the previous one stops."""
    cfg = compose_cfg("dataset=jena", "dataset.val=[200000,300000]",
                      "dataset.test=[300000,null]")
    assert list(cfg.dataset.val) == [200000, 300000]


def test_unknown_option_lists_choices():
    with pytest.raises(MissingConfigException, match="Available options in 'model'"):
        compose_cfg("model=nope")


def test_wrong_type_fails_at_composition():
    with pytest.raises(ConfigCompositionException, match="trainer.epochs"):
        compose_cfg("trainer.epochs=abc")


@pytest.mark.parametrize("override, key", [
    ("trainer.optimizer=adagrad", "trainer.optimizer"),
    ("encoder.mode=bogus", "encoder.mode"),
    ("model.cell=rnn", "model.cell"),
])
def test_enum_values_are_checked_at_composition(override, key):
    group = key.split(".")[0]
    extra = {"encoder": ["dataset=imdb", "encoder=onehot"], "model": ["model=bi"]}
    with pytest.raises(ConfigCompositionException) as info:
        compose_cfg(*extra.get(group, []), override)
    assert info.value.__cause__.full_key == key


def test_unknown_key_fails_at_composition():
    with pytest.raises(ConfigCompositionException, match="model.unitz"):
        compose_cfg("model.unitz=3")


@pytest.mark.parametrize("override, message", [
    ("trainer.epochs=0", "trainer.epochs=0 is too small"),
    ("dataset.delay=-1", "dataset.delay=-1 is too small"),
    ("model.dropout=1.5", "model.dropout=1.5 is too large"),
    ("dataset.lookback=3", "smaller than dataset.step=6"),
    ("dataset.val=[100000,300000]", "dataset.train and dataset.val overlap"),
    ("dataset.train=[5,1]", "is not a row range"),
    ("dataset.train=[5,5]", "is not a row range"),  # [start, stop): empty
    ("dataset.val=[199999,300000]", "train stops at row 200000 .excluded. but val starts"),
    ("dataset.train=[0,null]", "only dataset.test may run to the end"),
])
def test_out_of_range_values_are_refused(override, message):
    cfg = compose_cfg("dataset=jena", override, validate=False)
    with pytest.raises(SeqexpError, match=message.replace("[", r"\[").replace("=", "=")):
        schemas.validate(cfg)


@pytest.mark.parametrize("overrides, message", [
    (["dataset=jena", "encoder=glove"], "encoder=glove cannot encode dataset=jena"),
    (["dataset=jena", "encoder=embedding"], "use encoder=numeric"),
    (["dataset=raw-imdb", "encoder=numeric"], "cannot encode dataset=raw-imdb"),
    (["dataset=raw-imdb", "encoder=onehot", "model=lstm"], "encoder.mode=sequence"),
    (["dataset=imdb", "encoder=hash", "model=conv"], "use model=dense"),
])
def test_incompatible_combinations_are_refused(overrides, message):
    cfg = compose_cfg(*overrides, validate=False)
    with pytest.raises(SeqexpError, match=message):
        schemas.validate(cfg)


def test_config_errors_do_not_import_the_heavy_libraries():
    """`seqexp --help` and config errors must not pay for TensorFlow/Keras/MLflow imports."""
    code = (
        "import sys\n"
        "sys.argv = ['seqexp', 'dataset=jena', 'encoder=glove']\n"
        "from seqexp.cli import run\n"
        "try:\n    run.main()\nexcept SystemExit as e:\n    code = e.code\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'mlflow') if m in sys.modules]\n"
        "print('HEAVY', heavy, 'EXIT', code)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert "HEAVY [] EXIT 2" in out.stdout, out.stdout + out.stderr
    errors = [line for line in out.stderr.splitlines() if line.strip()]
    assert errors == ["seqexp: error: encoder=glove cannot encode dataset=jena (numbers): "
                      "use encoder=numeric"]


def test_help_names_every_option():
    out = subprocess.run([sys.executable, "-m", "seqexp.cli.run", "--help"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0
    groups = {line.split()[0]: line for line in out.stdout.splitlines()
              if line.startswith("  ") and line.split()}
    for group in ("dataset", "encoder", "model"):
        for option in schemas.GROUPS[group].options():
            if group != "dataset" or option in ("jena", "imdb", "raw-imdb"):
                assert option in groups[group], (group, option)
    assert "jena-sample" in groups["dataset"] and "schema" not in out.stdout


@pytest.mark.parametrize("overrides, line", [
    (["model=nope"], "In 'config': Could not find 'model/nope'; Available options in 'model': "
                     + ", ".join(sorted(MODELS))),
    (["trainer.optimizer=adagrad"],
     "trainer.optimizer=adagrad is not allowed: choose one of rmsprop, adam, sgd"),
    (["trainer.epochs=abc"], "Error merging override trainer.epochs=abc; Value 'abc' of type "
                             "'str' could not be converted to Integer"),
    (["model.unitz=3"], "Could not override 'model.unitz'.; To append to your config use "
                        "+model.unitz=3; Key 'unitz' not in 'GruConfig'"),
    (["trainer.epochs=[1"], "no viable alternative at input '[1'; See https://hydra.cc/docs/"
                            "1.2/advanced/override_grammar/basic for details"),
])
def test_config_errors_are_one_line_from_the_exception_objects(overrides, line):
    from seqexp.config.messages import one_line

    with pytest.raises(Exception) as info:
        compose_cfg(*overrides)
    assert one_line(info.value) == line


@pytest.mark.parametrize("overrides, line", [
    (["+trainer.epoch=3"], "unknown key trainer.epoch; did you mean trainer.epochs?"),
    (["+dataset.lookbak=3"], "unknown key dataset.lookbak; did you mean dataset.lookback?"),
    (["model=conv", "+model.filter=[8]"], "unknown key model.filter; did you mean "
                                          "model.filters?"),
    (["+model.x.y=1"], "unknown key model.x: model has name, units, dropout, recurrent_dropout "
                       "(free-form keys go under extra., e.g. +extra.note=...)"),
    (["+foo=bar"], "unknown key foo: the top level has dataset, encoder, model, trainer, "
                   "tracking, generate, book, extra, sweep (free-form keys go under extra., "
                   "e.g. +extra.note=...)"),
    (["experiment=book/6.39-gru", "+book.reportd=0.3"],
     "unknown key book.reportd; did you mean book.reported?"),
])
def test_keys_outside_the_schemas_are_refused_naming_the_nearest(overrides, line):
    with pytest.raises(SeqexpError) as info:
        compose_cfg(*overrides)
    assert str(info.value) == line


def test_free_form_keys_go_under_extra_and_are_params():
    from seqexp.tracking.run import params_of

    cfg = compose_cfg("+extra.note=first try", "+extra.ticket.id=17")
    assert OmegaConf.to_container(cfg.extra) == {"note": "first try", "ticket": {"id": 17}}
    params = params_of(OmegaConf.to_container(cfg, resolve=True))
    assert params["extra.note"] == "first try" and params["extra.ticket.id"] == "17"
    assert "extra" not in params and compose_cfg().extra == {}
