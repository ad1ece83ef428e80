"""Every model builds from an input spec and its own config, and trains a step."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from seqexp import data, encoders, models
from seqexp.config import schemas
from seqexp.encoders import Batching
from seqexp.errors import SeqexpError
from seqexp.tasks.binary import BINARY
from seqexp.tasks.regression import REGRESSION
from seqexp.tracking import conventions
from seqexp.training import train
from tests.conftest import SMALL_JENA, compose_cfg


@pytest.mark.parametrize("model", list(schemas.GROUPS["model"].options()))
def test_model_trains_a_step_on_jena(model, jena_csv):
    # conv stacks need long sequences (book: 240 steps): sample every 2nd row for them
    step = ["dataset.step=2"] if model.startswith("conv") else []
    cfg = compose_cfg("dataset=jena", f"dataset.path={jena_csv}", f"model={model}", *SMALL_JENA,
                      *step)
    splits = data.load(cfg.dataset)
    encoded = encoders.encode(splits, cfg.encoder, Batching(16, 0, 2))
    assert encoded.spec.shape == (144 // (2 if step else 6), 14)
    net = models.build(encoded.spec, encoded.layers, cfg.model, splits.task)
    assert net.output_shape == (None, 1)
    train.compile_model(net, splits.task, cfg.trainer)
    x, y = encoded.train[0]
    before = [w.copy() for w in net.get_weights()]
    logs = net.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    assert any(not np.array_equal(a, b) for a, b in zip(before, net.get_weights()))
    # the logged model's output signature comes from the symbolic output, not a forward pass
    called = keras.ops.convert_to_numpy(net(x[:2], training=False))
    shaped = conventions.output_example(net, x[:2])
    assert shaped.shape == called.shape == (2, 1) and shaped.dtype == called.dtype


def test_a_model_without_symbolic_outputs_is_called_for_its_output_example():
    class Doubling(keras.Model):  # subclassed: no symbolic outputs to read the shape from
        def call(self, inputs):
            return inputs[:, :1] * 2.0

    example = np.ones((2, 3), "float32")
    out = conventions.output_example(Doubling(), example)
    assert out.shape == (2, 1) and (out == 2.0).all()


def layer_types(name: str, *overrides: str) -> list[str]:
    cfg = compose_cfg("dataset=jena", f"model={name}", *overrides)
    spec = encoders.InputSpec(shape=(240, 14))
    net = models.build(spec, [], cfg.model, REGRESSION)
    return [type(layer).__name__ for layer in net.layers]


def test_book_architectures():
    assert layer_types("dense") == ["Flatten", "Dense", "Dense"]
    assert layer_types("gru") == ["GRU", "Dense"]
    assert layer_types("stacked") == ["GRU", "GRU", "Dense"]
    assert layer_types("bi") == ["Bidirectional", "Dense"]
    assert layer_types("conv") == ["Conv1D", "MaxPooling1D", "Conv1D", "MaxPooling1D",
                                   "Conv1D", "GlobalMaxPooling1D", "Dense"]
    assert layer_types("conv-gru") == ["Conv1D", "MaxPooling1D", "Conv1D", "GRU", "Dense"]
    assert layer_types("bi", "model.cell=lstm") == ["Bidirectional", "Dense"]


def test_dense_dropout_is_off_by_default_and_placed_as_asked():
    assert layer_types("dense", "model.units=[16,8]") == ["Flatten", "Dense", "Dense", "Dense"]
    assert layer_types("dense", "model.units=[16,8]", "model.dropout=0.5",
                       "model.input_dropout=0.2") == [
        "Flatten", "Dropout", "Dense", "Dropout", "Dense", "Dropout", "Dense"]
    cfg = compose_cfg("dataset=jena", "model=dense", "model.units=[]", "model.input_dropout=0.3")
    net = models.build(encoders.InputSpec(shape=(10,), layout="bag"), [], cfg.model, BINARY)
    assert [type(x).__name__ for x in net.layers] == ["Dropout", "Dense"]
    assert net.layers[0].rate == 0.3
    with pytest.raises(SeqexpError, match="model.dropout"):
        compose_cfg("dataset=jena", "model=dense", "model.dropout=1.5")


def test_stacked_follows_listing_6_41():
    cfg = compose_cfg("dataset=jena", "model=stacked")
    net = models.build(encoders.InputSpec(shape=(240, 14)), [], cfg.model, REGRESSION)
    first, second = net.layers[:2]
    assert (first.units, first.return_sequences, first.dropout, first.recurrent_dropout) == (
        32, True, 0.1, 0.5)
    assert (second.units, second.activation, second.return_sequences) == (
        64, keras.activations.relu, False)


def test_classifier_head_is_sigmoid():
    cfg = compose_cfg("dataset=jena", "model=conv")
    net = models.build(encoders.InputSpec(shape=(100, 8)), [], cfg.model, BINARY)
    assert net.layers[-1].activation is keras.activations.sigmoid


def test_too_short_sequences_get_a_clear_error():
    cfg = compose_cfg("dataset=jena", "model=conv")
    with pytest.raises(SeqexpError, match=r"model=conv cannot be built on inputs of shape "
                                          r"\(24, 14\).*longer sequences"):
        models.build(encoders.InputSpec(shape=(24, 14)), [], cfg.model, REGRESSION)


def build_and_step(cfg, splits, caplog):
    """Build the run's model from its encoder and train one step; return what Keras said
    (warnings and log records) about masks."""
    import warnings

    encoded = encoders.encode(splits, cfg.encoder, Batching(8, 0, 1))
    with warnings.catch_warnings(record=True) as caught, caplog.at_level("WARNING"):
        warnings.simplefilter("always")
        net = models.build(encoded.spec, encoded.layers, cfg.model, splits.task)
        train.compile_model(net, splits.task, cfg.trainer)
        x, y = encoded.train[0]
        assert np.isfinite(net.train_on_batch(x, y, return_dict=True)["loss"])
    said = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    return net, [line for line in said if "mask" in line]


@pytest.mark.parametrize("model", ["dense", "conv-gru", "gru"])
def test_no_mask_reaches_a_layer_that_would_destroy_it(model, tmp_path, caplog, capsys):
    """encoder.mask_zero=true: kept for recurrent models (which consume it), turned off in
    one line for Flatten/Conv1D models; Keras says nothing about masks either way."""
    from tests import textdata

    npz, index, _ = textdata.make_imdb_npz(tmp_path)
    overrides = ["dataset=imdb", f"dataset.path={npz}", f"dataset.word_index_path={index}",
                 "dataset.num_words=15", "encoder=embedding", "encoder.mask_zero=true",
                 f"model={model}"]
    overrides += (["dataset.maxlen=40", "model.kernel_size=3", "model.pool_size=2"]
                  if model.startswith("conv") else ["dataset.maxlen=20"])
    cfg = compose_cfg(*overrides)
    recurrent = model == "gru"
    assert cfg.encoder.mask_zero is recurrent
    note = capsys.readouterr().err
    assert ("mask_zero=true turned off" in note) is not recurrent, note
    splits = data.load(cfg.dataset)
    net, said = build_and_step(cfg, splits, caplog)
    assert said == [], said
    assert net.layers[0].mask_zero is recurrent  # the Embedding the encoder placed


def test_a_mask_into_conv1d_is_what_keras_warns_about(tmp_path, caplog):
    """The warning the rule above prevents, so that the test above can fail."""
    from tests import textdata

    npz, index, _ = textdata.make_imdb_npz(tmp_path)
    cfg = compose_cfg("dataset=imdb", f"dataset.path={npz}", f"dataset.word_index_path={index}",
                      "dataset.num_words=15", "dataset.maxlen=40", "encoder=embedding",
                      "model=conv-gru", "model.kernel_size=3", "model.pool_size=2")
    cfg.encoder.mask_zero = True  # past validation: what the rule turns off
    _, said = build_and_step(cfg, data.load(cfg.dataset), caplog)
    assert said and "destroy the mask information" in said[0], said
