"""The book's Jena generator (listing 6.33) as printed: the reference the tests check
:class:`seqexp.data.windows.Windows` against and the benchmarks measure it against."""

from __future__ import annotations

import numpy as np


def book_generator(data, lookback, delay, min_index, max_index, shuffle=False,
                   batch_size=128, step=6):
    """Listing 6.33 as printed in the book (a per-sample Python loop)."""
    if max_index is None:
        max_index = len(data) - delay - 1
    i = min_index + lookback
    while 1:
        if shuffle:
            rows = np.random.randint(min_index + lookback, max_index, size=batch_size)
        else:
            if i + batch_size >= max_index:
                i = min_index + lookback
            rows = np.arange(i, min(i + batch_size, max_index))
            i += len(rows)
        samples = np.zeros((len(rows), lookback // step, data.shape[-1]))
        targets = np.zeros((len(rows),))
        for j, _ in enumerate(rows):
            indices = range(rows[j] - lookback, rows[j], step)
            samples[j] = data[indices]
            targets[j] = data[rows[j] + delay][1]
        yield samples, targets
