"""The console commands end without the interpreter's teardown, and lose nothing by it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = """
import atexit, logging, sys
from pathlib import Path
from seqexp.cli.quick_exit import skipping_teardown

out = Path(sys.argv[1])

class Teardown:  # its __del__ runs only if the interpreter tears its modules down
    def __del__(self):
        (out / "torn-down").write_text("yes")

kept = Teardown()

def body():
    atexit.register(lambda: (out / "exit-handler").write_text("ran"))
    handler = logging.FileHandler(out / "job.log")  # closed and flushed by logging.shutdown
    logging.getLogger("job").addHandler(handler)
    logging.getLogger("job").warning("last log line")
    print("x" * 100000)  # stdout is a pipe: block-buffered until flushed
    print("last stdout line")
    {body}

with skipping_teardown():
    body()
"""


def run(tmp_path: Path, ending: str) -> subprocess.CompletedProcess:
    script = tmp_path / "command.py"
    script.write_text(SCRIPT.replace("{body}", textwrap.dedent(ending)))
    return subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize(("ending", "code", "stderr"), [
    ("pass", 0, ""),
    ("sys.exit(2)", 2, ""),
    ("sys.exit('seqexp: error: one line')", 1, "seqexp: error: one line"),
    ("raise RuntimeError('a bug')", 1, "RuntimeError: a bug"),
    ("raise KeyboardInterrupt", 130, "KeyboardInterrupt"),
])
def test_exit_codes_output_logs_and_exit_handlers_are_kept(tmp_path, ending, code, stderr):
    out = run(tmp_path, ending)
    assert out.returncode == code, out.stderr
    assert out.stdout.endswith("x" * 100000 + "\nlast stdout line\n")
    assert stderr in out.stderr
    if "RuntimeError" in ending:
        assert "Traceback (most recent call last)" in out.stderr  # a bug keeps its traceback
    assert (tmp_path / "job.log").read_text() == "last log line\n"
    assert (tmp_path / "exit-handler").read_text() == "ran"
    assert not (tmp_path / "torn-down").exists()  # the teardown was skipped


def test_without_it_the_teardown_runs(tmp_path):
    """The check above can fail: the same script, run plainly, tears its objects down."""
    script = tmp_path / "plain.py"
    script.write_text(SCRIPT.replace("{body}", "pass").replace(
        "with skipping_teardown():\n    body()", "body()"))
    out = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "torn-down").read_text() == "yes"
