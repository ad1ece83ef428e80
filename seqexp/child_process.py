"""A child process (a sweep) that is stopped when its parent is asked to stop.

``seqexp-book`` and :func:`seqexp.sweep` run ``seqexp -m ...`` as a child process. A
SIGTERM sent to the parent alone (a scheduler, ``kill``) would leave that sweep running on
its own, and a Ctrl-C reaching both at once would be followed by ``subprocess.run`` killing
the child 0.25 s later, in the middle of a job. Here the child has its own session (a
terminal's Ctrl-C reaches only the parent), and each SIGINT or SIGTERM the parent receives
meanwhile is passed on to it, once, so the sweep stops at a safe point exactly as if it had
been signalled itself (a second signal stops it at once), and the parent waits for it.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
from collections.abc import Iterator

FORWARDED = (signal.SIGINT, signal.SIGTERM)


class Child(subprocess.Popen):
    """:class:`subprocess.Popen` remembering the signals passed on to it (``forwarded``)."""

    forwarded: list[int]


@contextlib.contextmanager
def forwarding(command: list[str], **popen: object) -> Iterator[Child]:
    """Start ``command`` in its own session and pass it every SIGINT/SIGTERM this process
    receives until it has ended; on leaving, wait for it (an exception in the block passes
    SIGTERM on first) and put the previous signal handlers back. In a thread other than the
    main one (where Python handles no signals) the child is only started and waited for."""
    forwarded: list[int] = []
    pending: list[int] = []  # received before the child existed: passed on once it does
    child: Child | None = None

    def forward(signum: int, frame: object) -> None:
        forwarded.append(signum)
        if child is None:
            pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    previous = {}
    if threading.current_thread() is threading.main_thread():  # before the child starts
        previous = {signum: signal.signal(signum, forward) for signum in FORWARDED}
    try:
        started = Child(command, start_new_session=True, **popen)
        started.forwarded = forwarded
        child = started
        while pending:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(pending.pop(0))
        with child:
            try:
                yield child
            except BaseException:
                if child.poll() is None:
                    forward(signal.SIGTERM, None)
                raise
            finally:
                child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run(command: list[str], **popen: object) -> Child:
    """Run ``command`` to its end under :func:`forwarding`; the ended child (``returncode``,
    ``forwarded``)."""
    with forwarding(command, **popen) as child:
        pass
    return child
