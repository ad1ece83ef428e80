"""Progress a user can see (issue 21): the data stages' bars on a terminal and one line each
through a pipe, trainer.verbose=0 silencing them, and a sweep's count of its jobs (the 3-job
sweeps themselves: tests/test_sweeps.py; seqexp's INFO lines off the terminal:
tests/test_quiet.py)."""

from __future__ import annotations

import fcntl
import json
import os
import re
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from seqexp import progress, sweep_progress
from seqexp.data import raw_imdb
from seqexp.encoders import text as text_encoders
from tests import textdata

ROOT = Path(__file__).resolve().parent.parent

# Two stages in a process of their own (no Keras imported: it starts in a second): a raw-IMDB
# archive read, then a character corpus built.
STAGES = """
import sys
from omegaconf import OmegaConf
from pathlib import Path
from seqexp import progress
from seqexp.data import raw_imdb, text
from seqexp.data.schemas import TextConfig

progress.SHORT_S = 0.0  # the generated data is read in milliseconds: show every stage
raw_imdb.read_reviews(Path(sys.argv[1]))
text.load_text(OmegaConf.structured(TextConfig(path=sys.argv[2])))
"""


def run_stages(archive: Path, **kw):
    corpus = archive.with_name("corpus.txt")
    corpus.write_text("Once upon a time there was a cat. It sat.\n" * 200, encoding="utf-8")
    return subprocess.Popen([sys.executable, "-c", STAGES, str(archive), str(corpus)],
                            cwd=ROOT, **kw)


@pytest.fixture
def archive(tmp_path):
    return textdata.make_aclimdb_tar(tmp_path, train=20, test=10)


@pytest.fixture(autouse=True)
def _default_progress(monkeypatch):
    monkeypatch.setattr(progress, "SHORT_S", 0.0)
    progress.set_verbose(1)
    yield
    progress.set_verbose(1)


def screen(raw: str) -> list[str]:
    """What a terminal shows of ``raw``: each line as its last carriage return left it
    (tqdm redraws a bar in place with ``\\r``; ANSI cursor moves dropped)."""
    raw = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", raw.replace("\r\n", "\n"))
    return [line.rsplit("\r", 1)[-1].rstrip() for line in raw.split("\n")]


def test_a_terminal_shows_bars_that_end_as_one_line_each(archive, tmp_path):
    """stderr on a pseudo-terminal: tqdm bars are drawn, then wiped, and each stage's line
    takes its place; nothing else is left on the screen."""
    primary, secondary = os.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 wide
    proc = run_stages(archive, stdout=subprocess.DEVNULL, stderr=secondary)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the child closed the terminal (EIO)
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    assert proc.wait(timeout=60) == 0
    raw = b"".join(chunks).decode()
    assert "%|" in raw and "\r" in raw  # tqdm's bar was drawn, in place
    assert re.search(r"\rseqexp: read aclImdb_v1\.tar\.gz: +\d+%\|", raw)  # bars name stages
    assert re.search(r"\rseqexp: built the character corpus of corpus\.txt: +\d+%\|", raw)
    lines = [line for line in screen(raw) if line]
    assert len(lines) == 2, lines
    assert re.fullmatch(r"seqexp: read aclImdb_v1\.tar\.gz: 60 reviews in \d+\.\d s", lines[0])
    assert re.fullmatch(r"seqexp: built the character corpus of corpus\.txt: 8,400 characters, "
                        r"an alphabet of 17 in \d+\.\d s", lines[1])


def test_a_pipe_gets_one_line_per_stage_and_no_bar(archive):
    proc = run_stages(archive, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "\r" not in err and "%|" not in err
    lines = err.splitlines()
    assert [line.split(":")[1] for line in lines] == [
        " read aclImdb_v1.tar.gz", " built the character corpus of corpus.txt"]
    assert lines[0].startswith("seqexp: read aclImdb_v1.tar.gz: 60 reviews in ")


def test_verbose_0_and_short_stages_say_nothing(archive, capfd):
    progress.set_verbose(0)
    assert len(raw_imdb.read_reviews(archive)["train"][0]) == 40
    progress.set_verbose(2)  # Keras's one line per epoch: the stages keep their lines
    raw_imdb.read_reviews(archive)
    progress.SHORT_S = 60.0  # a stage done in less says nothing
    raw_imdb.read_reviews(archive)
    assert capfd.readouterr().err.count("seqexp: read aclImdb_v1.tar.gz: 60 reviews") == 1


def test_a_stage_that_fails_writes_no_line(tmp_path, capfd):
    broken = tmp_path / "aclImdb_v1.tar.gz"
    broken.write_bytes(textdata.make_aclimdb_tar(tmp_path / "src").read_bytes()[:3000])
    with pytest.raises(Exception, match="corrupt or truncated"):
        raw_imdb.read_reviews(broken)
    assert capfd.readouterr().err == ""


def test_a_folder_counts_its_reviews(tmp_path, capfd):
    raw_imdb.read_reviews(textdata.make_aclimdb(tmp_path, train=5, test=3))
    assert re.fullmatch(r"seqexp: read aclImdb: 16 reviews in \d+\.\d s\n",
                        capfd.readouterr().err)


def test_bags_and_glove_stages(tmp_path, capfd):
    splits = textdata.text_splits(["the cat sat", "the dog ate"], ["a cat"], ["a dog"])
    text_encoders.text_bags(splits, "word", 2, "tf_idf")
    path = textdata.make_glove(tmp_path, textdata.glove_vectors(["the", "cat", "ox"], 4), "gz")
    from seqexp.encoders.glove import read_glove

    assert set(read_glove(path, 4, {"cat", "dog"})) == {"cat"}
    err = capfd.readouterr().err.splitlines()
    assert re.fullmatch(r"seqexp: vectorized texts \(word bags, tf_idf, 2-grams\): 4 texts, a "
                        r"vocabulary of 10 tokens in \d+\.\d s", err[0])
    assert re.fullmatch(r"seqexp: parsed glove\.6B\.4d\.txt\.gz: 3 vectors \(1 of the "
                        r"vocabulary's words\) in \d+\.\d s", err[1])


def test_a_download_is_a_stage_in_bytes(tmp_path, capfd):
    import functools
    import hashlib
    import http.server
    import threading

    from seqexp.data import download

    served = tmp_path / "www"
    served.mkdir()
    (served / "jena.csv.zip").write_bytes(b"x" * 5000)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        got = download.download(f"http://127.0.0.1:{server.server_address[1]}/jena.csv.zip",
                                "dataset.path", hashlib.sha256(b"x" * 5000).hexdigest())
    finally:
        server.shutdown()
    assert got.read_bytes() == b"x" * 5000
    assert re.fullmatch(r"seqexp: downloaded jena\.csv\.zip: 5\.0 kB in \d+\.\d s\n"
                        r"seqexp: hashed jena\.csv\.zip: 5\.0 kB in \d+\.\d s\n",
                        capfd.readouterr().err)


# ------------------------------------------------------------------------------ sweeps


def sweep_config(folder: Path, overrides: list[str], **sweeper) -> OmegaConf:
    return OmegaConf.create({"hydra": {"mode": "MULTIRUN", "sweep": {"dir": str(folder)},
                                       "overrides": {"task": overrides},
                                       "sweeper": sweeper},
                             "trainer": {"verbose": 2}})


def test_the_jobs_a_sweep_plans():
    plan = sweep_progress.planned_jobs
    assert plan(sweep_config(Path("x"), ["model=gru,dense", "trainer.seed=range(3)",
                                         "dataset=jena"])) == 6
    assert plan(sweep_config(Path("x"), ["model=gru"], params={"model.units": "4,8,16"})) == 3
    # the command line wins over the sweeper's params for the same key
    assert plan(sweep_config(Path("x"), ["model.units=4,8"], params={"model.units": "1,2,3"})) == 2
    assert plan(sweep_config(Path("x"), ["model=glob(*)"])) is None
    assert plan(sweep_config(Path("x"), ["model=gru"], n_trials=20)) == 20


def test_lines_and_estimates():
    result = sweep_progress.Result("mae", 0.30123, 0.33301, 0.0954)
    assert sweep_progress.line(1, 3, 0, 95.0, True, result, False) == (
        "seqexp: job 1 of 3 done: val mae 0.3012 vs baseline 0.3330 (skill +0.095), "
        "elapsed 1m35s, about 3m10s left")
    # two reused jobs took no time: the estimate is the one job that ran
    assert sweep_progress.line(3, 5, 2, 60.0, True, None, False) == (
        "seqexp: job 3 of 5 done, elapsed 1m00s, about 2m00s left")
    assert sweep_progress.line(2, 5, 2, 1.0, True, result, True).startswith(
        "seqexp: job 2 of 5 reused: val mae 0.3012")
    assert sweep_progress.line(4, 4, 0, 7300, False, None, False) == (
        "seqexp: job 4 of 4 failed, elapsed 2h01m, none left")


def done(value: float):
    from hydra.core.utils import JobReturn, JobStatus

    return JobReturn(status=JobStatus.COMPLETED, _return_value=value)


# A launcher's worker process: ends 4 jobs, as Hydra's run_job calls the callback there.
END_JOBS = """
import sys
from hydra.core.utils import JobStatus, JobReturn
from omegaconf import OmegaConf
from seqexp.sweep_progress import SweepProgress

callback = SweepProgress()
config = OmegaConf.create({"hydra": {"mode": "MULTIRUN", "sweep": {"dir": sys.argv[1]}},
                           "trainer": {"verbose": 0}})
for _ in range(4):
    callback.on_job_start(config)
    callback.on_job_end(config, JobReturn(status=JobStatus.COMPLETED, _return_value=0.5))
"""


def test_jobs_ending_in_parallel_processes_are_each_counted_once(tmp_path):
    config = sweep_config(tmp_path, ["model.units=" + ",".join(map(str, range(12)))])
    sweep_progress.SweepProgress().on_multirun_start(config)
    workers = [subprocess.Popen([sys.executable, "-c", END_JOBS, str(tmp_path)], cwd=ROOT)
               for _ in range(3)]
    assert [worker.wait(timeout=120) for worker in workers] == [0, 0, 0]
    state = json.loads((tmp_path / sweep_progress.STATE).read_text())
    assert state["planned"] == 12 and state["done"] == 12 and state["reused"] == 0


def test_a_reused_job_is_counted_and_said(tmp_path, capfd):
    config = sweep_config(tmp_path, ["trainer.seed=0,1"])
    callback = sweep_progress.SweepProgress()
    callback.on_multirun_start(config)
    callback.on_job_start(config)
    sweep_progress.count_reused({"best_val_acc": 0.875, "naive_val_acc": 0.5, "val_skill": 0.75,
                                 "best_val_acc_pct": 87.5, "best_epoch": 2})
    callback.on_job_end(config, done(0.875))
    time.sleep(0.05)
    callback.on_job_start(config)
    callback.on_job_end(config, done(float("nan")))  # seqexp's failed job returns NaN
    err = capfd.readouterr().err.splitlines()
    assert err[0].startswith("seqexp: job 1 of 2 reused: val acc 0.8750 vs baseline 0.5000 "
                             "(skill +0.750), elapsed ")
    assert re.fullmatch(r"seqexp: job 2 of 2 failed, elapsed \d+s, none left", err[1])


def test_a_continued_search_counts_the_trials_it_holds(tmp_path, capfd):
    config = sweep_config(tmp_path, [], n_trials=8)
    callback = sweep_progress.SweepProgress()
    callback.on_multirun_start(config)
    sweep_progress.count_done_before(config, 5)  # the study's trials from an earlier try
    callback.on_job_start(config)
    sweep_progress.record_result("mae", 0.25, 0.3, 0.1667)
    callback.on_job_end(config, done(0.25))
    assert re.fullmatch(r"seqexp: job 6 of 8 done: val mae 0\.2500 vs baseline 0\.3000 "
                        r"\(skill \+0\.167\), elapsed \d+s, about \d+s left\n",
                        capfd.readouterr().err)


def test_a_jobs_verbosity_ends_with_the_job():
    # jobs sharing a process (seqexp.run in a notebook, the basic launcher) must not leave
    # trainer.verbose=0 behind for the stages that come after them
    progress.set_verbose(1)
    with progress.verbosity(0):
        assert not progress.shown()
    assert progress.shown()
