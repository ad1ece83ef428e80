"""The numeric passthrough for time series: normalized windows as they are."""

from __future__ import annotations

from omegaconf import DictConfig

from seqexp.data import Splits
from seqexp.data.batches import WindowBatches
from seqexp.encoders import Batching, Encoded, InputSpec, register
from seqexp.encoders.schemas import NumericConfig


@register(NumericConfig)
def numeric(splits: Splits, cfg: DictConfig, batching: Batching) -> Encoded:
    train = splits.train
    return Encoded(
        train=WindowBatches(train, batching.batch_size, shuffle=batching.shuffle,
                            seed=batching.seed, steps=batching.steps_per_epoch, train=True),
        val=WindowBatches(splits.val, batching.size("val")),
        test=WindowBatches(splits.test, batching.size("test")),
        spec=InputSpec(shape=(train.timesteps, train.data.shape[1]), layout="sequence"),
    )
