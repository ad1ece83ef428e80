"""Seeded batches for ``model.fit`` from any indexable dataset part, as a
``keras.utils.PyDataset`` (numpy in, numpy out: any Keras backend consumes it)."""

from __future__ import annotations

import math
from typing import Protocol

import keras
import numpy as np


class Batches(keras.utils.PyDataset):
    """Batches of ``take(rows)`` over ``size`` samples.

    Evaluation batches walk every sample once, in order. Training batches (``train=True``,
    the default when ``shuffle``) are the whole training schedule, ``steps`` batches per
    epoch (``None``: one pass) for the epochs set by :meth:`schedule`; batch ``i`` is a pure
    function of (seed, epoch, i), so whatever Keras prefetches, and wherever a resumed run
    starts, the order is the same. ``shuffle``: each epoch walks a fresh seeded permutation
    (more than one pass draws further permutations); otherwise the samples in order,
    continuing across epochs from where the last one stopped and wrapping at the end (book
    listing 6.33 with ``shuffle=False``). Fit with ``shuffle=False``: Keras would otherwise
    reorder the batches with Python's global random.
    """

    def __init__(self, size: int, batch_size: int, *, shuffle: bool = False, seed: int = 0,
                 steps: int | None = None, train: bool | None = None):
        super().__init__()
        self.size = size
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.train = shuffle if train is None else train
        self.full = math.ceil(size / batch_size)
        self.steps = steps if (self.train and steps) else self.full
        self.first_epoch, self.epochs = 0, 1
        self._cached: tuple[int, np.ndarray] | None = None

    def schedule(self, first_epoch: int, epochs: int) -> None:
        """Train epochs ``first_epoch`` (0: a new run; k: a resumed one) up to ``epochs``."""
        self.first_epoch, self.epochs = first_epoch, max(epochs, first_epoch + 1)
        self._cached = None

    def take(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def order(self, epoch: int) -> np.ndarray:
        """The sample order of ``epoch`` (its batches are consecutive slices of it)."""
        cached = self._cached
        if cached is not None and cached[0] == epoch:
            return cached[1]
        wanted = self.steps * self.batch_size
        if self.shuffle:
            rng = np.random.default_rng([self.seed, epoch])
            rounds = max(1, math.ceil(wanted / self.size))
            order = np.concatenate([rng.permutation(self.size) for _ in range(rounds)])
        elif not self.train or self.steps == self.full:
            order = np.arange(self.size)
        else:
            start = (epoch * wanted) % self.size
            order = (start + np.arange(wanted)) % self.size
        self._cached = (epoch, order)
        return order

    def __len__(self) -> int:
        return self.steps * (self.epochs - self.first_epoch) if self.train else self.steps

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        epoch, step = divmod(index, self.steps) if self.train else (0, index)
        order = self.order(self.first_epoch + epoch)
        return self.take(order[step * self.batch_size:(step + 1) * self.batch_size])


class Windowed(Protocol):
    """A split of windows over one array (:class:`seqexp.data.windows.Windows` of a time
    series, :class:`seqexp.data.text.CharWindows` of a corpus)."""

    def __len__(self) -> int: ...

    def batch(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, targets) of the windows at positions ``rows``."""
        ...


class WindowBatches(Batches):
    """Batches of (inputs, targets) from windows: for training, the windows in a seeded
    random order, each once per pass (the book's generator draws each batch at random with
    replacement); for evaluation, every window in order."""

    def __init__(self, windows: Windowed, batch_size: int, **kw):
        self.windows = windows
        super().__init__(len(windows), batch_size, **kw)

    def take(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.windows.batch(rows)
