"""Windows over a multivariate series and the batches Keras trains on (book listing 6.33).

A sample ending at row ``i`` holds rows ``i - lookback, i - lookback + step, ..., i - step``;
its target is the target column at row ``i + delay``. Batches are gathered with one numpy
fancy-index per batch (no per-sample Python loop), so any Keras backend can consume them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np


@dataclass
class Windows:
    """Every window of one split: the normalized series and the rows where windows end."""

    data: np.ndarray  # (rows, features), float32, normalized with training statistics
    ends: np.ndarray  # (samples,), int64: the row i each window ends before
    lookback: int
    step: int
    delay: int
    target_col: int

    @classmethod
    def between(cls, data: np.ndarray, first: int, last: int | None, *, lookback: int,
                step: int, delay: int, target_col: int) -> Windows:
        """Windows whose end row i lies in [first + lookback, last) as in listing 6.33
        (last=None: the end of the data less the delay)."""
        limit = len(data) - delay - 1
        stop = limit if last is None else min(last, limit)
        ends = np.arange(first + lookback, max(stop, first + lookback), dtype=np.int64)
        return cls(data, ends, lookback, step, delay, target_col)

    def __len__(self) -> int:
        return len(self.ends)

    @property
    def offsets(self) -> np.ndarray:
        return np.arange(-self.lookback, 0, self.step, dtype=np.int64)

    @property
    def timesteps(self) -> int:
        return len(self.offsets)

    def inputs(self, ends: np.ndarray | None = None) -> np.ndarray:
        ends = self.ends if ends is None else ends
        return self.data[ends[:, None] + self.offsets]

    def targets(self, ends: np.ndarray | None = None) -> np.ndarray:
        ends = self.ends if ends is None else ends
        return self.data[ends + self.delay, self.target_col]

    def last_observed(self) -> np.ndarray:
        """The target column at the last row of each window: the persistence forecast."""
        return self.data[self.ends + self.offsets[-1], self.target_col]


class WindowBatches(keras.utils.PyDataset):
    """Batches of (inputs, targets) from :class:`Windows`.

    Training batches (``shuffle=True``) walk a fresh seeded permutation each epoch, so
    ``steps`` batches per epoch are random windows as in the book's generator; evaluation
    batches walk every window in order.
    """

    def __init__(self, windows: Windows, batch_size: int, *, shuffle: bool = False,
                 seed: int = 0, steps: int | None = None):
        super().__init__()
        self.windows = windows
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        full = math.ceil(len(windows) / batch_size)
        self.steps = steps if (shuffle and steps) else full
        self.epoch = 0
        self._order = self._make_order()

    def _make_order(self) -> np.ndarray:
        n = len(self.windows)
        if not self.shuffle:
            return self.windows.ends
        rng = np.random.default_rng([self.seed, self.epoch])
        needed = self.steps * self.batch_size
        rounds = max(1, math.ceil(needed / n))
        return self.windows.ends[np.concatenate([rng.permutation(n) for _ in range(rounds)])]

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        ends = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        return self.windows.inputs(ends), self.windows.targets(ends)

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.epoch += 1
            self._order = self._make_order()
