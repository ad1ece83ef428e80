"""Windows over a multivariate series (book listing 6.33); batched for Keras by
:class:`seqexp.data.batches.WindowBatches`.

A sample ending at row ``i`` holds rows ``i - lookback, i - lookback + step, ..., i - step``;
its target is the target column at row ``i + delay``. Batches are gathered with one numpy
fancy-index per batch (no per-sample Python loop), so any Keras backend can consume them.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    def between(cls, data: np.ndarray, start: int, stop: int | None, *, lookback: int,
                step: int, delay: int, target_col: int, stride: int = 1) -> Windows:
        """The windows of the rows [start, stop): end row i in [start + lookback, stop), as
        listing 6.33's min_index/max_index (stop=None: the end of the data less the delay,
        as its max_index=None), one every ``stride`` rows (the book: 1, a window ending at
        every row)."""
        limit = len(data) - delay - 1
        stop = limit if stop is None else min(stop, limit)
        ends = np.arange(start + lookback, max(stop, start + lookback), stride, dtype=np.int64)
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

    def batch(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ends = self.ends[rows]
        return self.inputs(ends), self.targets(ends)

    def last_observed(self) -> np.ndarray:
        """The target column at the last row of each window: the persistence forecast."""
        return self.data[self.ends + self.offsets[-1], self.target_col]
