"""trainer.precision, trainer.jit_compile, trainer.workers and the cuDNN eligibility tag."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from hydra.errors import ConfigCompositionException

from seqexp import data, models
from seqexp.encoders import Batching, encode
from seqexp.errors import SeqexpError
from seqexp.models.recurrent import cudnn_eligibility
from seqexp.training import train
from seqexp.training.backup import Backup
from tests.conftest import SMALL_JENA, compose_cfg


@pytest.fixture
def float32_after():
    yield
    train.set_precision("float32")


def jena(jena_csv, *overrides, steps=2):
    cfg = compose_cfg("dataset=jena", f"dataset.path={jena_csv}", *SMALL_JENA,
                      "trainer.batch_size=16", *overrides)
    splits = data.load(cfg.dataset)
    enc = encode(splits, cfg.encoder, Batching(16, 0, steps))
    return cfg, splits, enc


def built(cfg, splits, enc):
    train.set_precision(cfg.trainer.precision)
    net = models.build(enc.spec, enc.layers, cfg.model, splits.task)
    train.compile_model(net, splits.task, cfg.trainer)
    return net


@pytest.mark.parametrize("precision, compute", [("mixed_bfloat16", "bfloat16"),
                                                ("mixed_float16", "float16")])
def test_mixed_precision_keeps_variables_and_output_float32(jena_csv, float32_after, precision,
                                                            compute):
    cfg, splits, enc = jena(jena_csv, "model=dense", f"trainer.precision={precision}")
    net = built(cfg, splits, enc)
    hidden, out = net.layers[-2], net.layers[-1]
    assert hidden.compute_dtype == compute and hidden.variable_dtype == "float32"
    assert out.compute_dtype == "float32" and out.dtype_policy.name == "float32"
    x, y = enc.train[0]
    assert keras.ops.convert_to_numpy(net(x)).dtype == np.float32
    scaled = isinstance(net.optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (precision == "mixed_float16")  # float16 needs loss scaling
    logs = net.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    train.set_precision("float32")
    assert built(*jena(jena_csv, "model=dense")).layers[-2].compute_dtype == "float32"


@pytest.mark.parametrize("value, expected", [("null", "auto"), ("true", True),
                                             ("false", False)])
def test_jit_compile_reaches_compile(jena_csv, value, expected):
    cfg, splits, enc = jena(jena_csv, "model=dense", f"trainer.jit_compile={value}")
    net = built(cfg, splits, enc)
    if expected == "auto":  # null: Keras's auto (no XLA on a CPU-only TensorFlow)
        assert net.jit_compile is (keras.backend.backend() == "jax")
    else:
        assert net.jit_compile is expected


def test_bad_switch_values_are_refused():
    with pytest.raises(ConfigCompositionException, match="trainer.precision=float16") as info:
        compose_cfg("trainer.precision=float16")
    assert "mixed_bfloat16" in str(info.value.__cause__)
    with pytest.raises(ConfigCompositionException, match="trainer.jit_compile=maybe"):
        compose_cfg("trainer.jit_compile=maybe")
    with pytest.raises(SeqexpError, match="trainer.workers=0"):
        compose_cfg("trainer.workers=0")


def test_workers_train_the_same_batches(jena_csv, tmp_path):
    weights = []
    for workers in (1, 3):
        keras.utils.set_random_seed(0)
        cfg, splits, enc = jena(jena_csv, "model=dense", "trainer.epochs=2",
                                "trainer.steps_per_epoch=4", f"trainer.workers={workers}",
                                "trainer.verbose=0", steps=4)
        net = built(cfg, splits, enc)
        folder = tmp_path / f"w{workers}"
        train.fit(net, enc, splits.task, cfg.trainer, Backup(folder / "backup"),
                  folder / "best.weights.h5", on_epoch=lambda record: None)
        assert enc.train.workers == workers and not enc.train.use_multiprocessing
        weights.append(net.get_weights())
    for a, b in zip(*weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("overrides, verdict, reason", [
    (["model=gru"], "yes", "eligible"),
    (["model=bi", "model.cell=lstm"], "yes", "2 recurrent layer(s)"),
    (["model=gru", "model.recurrent_dropout=0.25"], "no", "recurrent_dropout=0.25"),
    (["model=stacked", "model.recurrent_dropout=0"], "no", "activation=relu"),  # 6.41
    (["model=conv-gru"], "no", "recurrent_dropout=0.5"),  # 6.49
    (["model=simple-rnn"], "no", "SimpleRNN has no fused kernel"),
    (["model=conv"], "none", "no recurrent layer"),
])
def test_cudnn_eligibility(jena_csv, overrides, verdict, reason):
    cfg, splits, enc = jena(jena_csv, *overrides,
                            *(["dataset.step=2"] if "conv" in overrides[0] else []))
    net = models.build(enc.spec, enc.layers, cfg.model, splits.task)
    got, why = cudnn_eligibility(net)
    assert got == verdict and reason in why


def test_cudnn_refuses_masked_padding():
    layers = [keras.Input((10,), dtype="int32"), keras.layers.Embedding(20, 4, mask_zero=True),
              keras.layers.LSTM(4), keras.layers.Dense(1)]
    got, why = cudnn_eligibility(keras.Sequential(layers))
    assert got == "no" and "mask_zero" in why
