"""Ending a command's process without the interpreter's teardown.

A process that has imported TensorFlow, Keras and MLflow spends seconds after its last line
of work tearing down its millions of Python objects and native modules (measured on the
2-core CPU: a bare ``import keras`` script 2 s, a finished ``seqexp`` job 3.5-4 s), though
nothing is written then: the OS frees the memory. :func:`skipping_teardown` lets the process
end as usual (tracebacks printed, ``sys.exit`` codes and messages, non-daemon threads joined,
every exit handler registered during the command run, ``logging`` flushed and closed), then
leaves with the same exit code through ``os._exit`` instead of the teardown.

Used by the ``seqexp`` console script (:func:`seqexp.cli.run.command`, also what
``python -m seqexp.cli.run`` runs); :func:`seqexp.cli.run.main`, which tests call in-process,
is left as it is.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
from collections.abc import Iterator


def exit_code(code: object) -> int:
    """The process's exit status for ``sys.exit(code)``, as Python computes it."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    return 1  # a message: Python prints it, then exits 1


@contextlib.contextmanager
def skipping_teardown() -> Iterator[None]:
    """Run the command inside; once the interpreter has run the exit handlers registered
    since, flush the standard streams and logging and end the process with its exit code."""
    status = {"code": 1}  # an exception that escapes: Python prints it and exits 1

    def leave() -> None:  # registered first, so it runs after every later exit handler
        logging.shutdown()  # logging's own handler was registered before this one
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(status["code"])

    atexit.register(leave)
    try:
        yield
        status["code"] = 0
    except SystemExit as done:
        status["code"] = exit_code(done.code)
        raise
    except KeyboardInterrupt:
        status["code"] = 130
        raise
