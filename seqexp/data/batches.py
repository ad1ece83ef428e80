"""Shuffled, seeded batches for ``model.fit`` from any indexable dataset part, as a
``keras.utils.PyDataset`` (numpy in, numpy out: any Keras backend consumes it)."""

from __future__ import annotations

import math

import keras
import numpy as np


class Batches(keras.utils.PyDataset):
    """Batches of ``take(rows)`` over ``size`` samples.

    Training batches (``shuffle=True``) walk a seeded permutation, a fresh one each epoch,
    ``steps`` batches per epoch (``None``: one pass; more than one pass draws further
    permutations); evaluation batches walk every sample in order.
    """

    def __init__(self, size: int, batch_size: int, *, shuffle: bool = False, seed: int = 0,
                 steps: int | None = None):
        super().__init__()
        self.size = size
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        full = math.ceil(size / batch_size)
        self.steps = steps if (shuffle and steps) else full
        self.epoch = 0
        self._order = self._make_order()

    def start_at(self, epoch: int) -> None:
        """Continue the permutation schedule at ``epoch`` (a resumed run)."""
        self.epoch = epoch
        self._order = self._make_order()

    def take(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _make_order(self) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.size)
        rng = np.random.default_rng([self.seed, self.epoch])
        rounds = max(1, math.ceil(self.steps * self.batch_size / self.size))
        return np.concatenate([rng.permutation(self.size) for _ in range(rounds)])

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return self.take(self._order[index * self.batch_size:(index + 1) * self.batch_size])

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.epoch += 1
            self._order = self._make_order()
