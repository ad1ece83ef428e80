"""A sweep run as a child process (seqexp-book, seqexp.sweep) is stopped with its parent: a
SIGTERM or Ctrl-C the parent receives is passed on once, the child stops as if signalled
itself, and the parent waits for it. Real processes, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seqexp import child_process

# the child: says it is ready, then on SIGTERM/SIGINT writes which signal and exits 130
CHILD = """
import os, signal, sys, time
from pathlib import Path
folder = Path(sys.argv[1])
def say(name, text):  # whole or not there: the test polls for it
    (folder / (name + ".part")).write_text(text)
    os.replace(folder / (name + ".part"), folder / name)
def stop(signum, frame):
    say("stopped", f"{signum} {os.getsid(0)}")
    sys.exit(130)
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
say("ready", str(os.getpid()))
time.sleep(60)
"""

PARENT = """
import sys
from seqexp import child_process
child = child_process.run([sys.executable, sys.argv[1], sys.argv[2]])
print(child.returncode, child.forwarded)
"""


def wait_for(path: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)
    return path.read_text()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_parent_alone_stops_the_child_and_the_parent_waits(tmp_path, signum):
    (tmp_path / "child.py").write_text(CHILD)
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path / "child.py"),
                               str(tmp_path)], stdout=subprocess.PIPE, text=True)
    child_pid = int(wait_for(tmp_path / "ready"))
    assert os.getsid(child_pid) != os.getsid(parent.pid)  # a terminal's Ctrl-C: parent only
    parent.send_signal(signum)  # to the parent alone, as a scheduler or `kill` does
    out, _ = parent.communicate(timeout=60)
    stopped, session = wait_for(tmp_path / "stopped").split()
    assert int(stopped) == signum and int(session) == child_pid
    assert parent.returncode == 0 and out.split() == ["130", f"[{int(signum)}]"], out
    with pytest.raises(ProcessLookupError):  # ended, and waited for (no zombie left)
        os.kill(child_pid, 0)


def test_the_handlers_are_put_back_and_a_quiet_child_forwards_nothing():
    before = {s: signal.getsignal(s) for s in child_process.FORWARDED}
    child = child_process.run([sys.executable, "-c", "raise SystemExit(3)"])
    assert child.returncode == 3 and child.forwarded == []
    assert {s: signal.getsignal(s) for s in child_process.FORWARDED} == before


def test_an_error_in_the_parent_stops_the_child_first(tmp_path):
    (tmp_path / "child.py").write_text(CHILD)
    with pytest.raises(RuntimeError):
        with child_process.forwarding([sys.executable, str(tmp_path / "child.py"),
                                       str(tmp_path)]) as child:
            wait_for(tmp_path / "ready")
            raise RuntimeError("the parent failed while reading the child")
    assert child.returncode == 130 and child.forwarded == [signal.SIGTERM]
    assert wait_for(tmp_path / "stopped").split()[0] == str(int(signal.SIGTERM))
