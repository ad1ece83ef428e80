"""SIGTERM and Ctrl-C end a job at a safe point.

Outside training a signal interrupts at once (as Python's Ctrl-C does). While ``model.fit``
runs (inside :func:`deferred`), the handler only records the signal; :class:`StopAtSafePoint`
raises :class:`Interrupted` at the next batch end, where no checkpoint or tracker write is
under way, so the backup of the last completed epoch is whole. A second signal while one is
pending interrupts at once (every checkpoint write is atomic: it can only lose a temporary
file). The run then ends KILLED and ``trainer.resume=<id>`` continues it.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


class Interrupted(KeyboardInterrupt):
    """The job was stopped by SIGTERM or Ctrl-C (a ``KeyboardInterrupt``)."""


_pending: int | None = None  # the signal received while deferring, not yet acted on
_deferring = 0
_received: int | None = None  # the last signal received in this process


def install() -> None:
    """Route SIGTERM and SIGINT (Ctrl-C) through :func:`_handler`."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _handler)


def _handler(signum: int, frame: object) -> None:
    global _pending, _received
    _received = signum
    if _deferring and _pending is None:
        _pending = signum  # acted on at the next safe point
        return
    _pending = None
    raise Interrupted(f"signal {signum}")


def received() -> int | None:
    """The last SIGTERM or SIGINT this process received (None: none)."""
    return _received


def check() -> None:
    """Raise :class:`Interrupted` if a signal arrived (call only at a safe point)."""
    global _pending
    if _pending is not None:
        signum, _pending = _pending, None
        raise Interrupted(f"signal {signum}")


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Within this block a signal is only recorded; :func:`check` acts on it."""
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1


def safe_point_callback():
    """A Keras callback that acts on a recorded signal at every batch and epoch end."""
    import keras

    class StopAtSafePoint(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            check()

        def on_test_batch_end(self, batch, logs=None):
            check()

        def on_epoch_begin(self, epoch, logs=None):
            check()

        def on_epoch_end(self, epoch, logs=None):  # last in the list: after the backup
            check()

    return StopAtSafePoint()
