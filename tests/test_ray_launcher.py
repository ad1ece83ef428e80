"""Hydra's Ray launcher against a real Ray head on 127.0.0.1: a 2-job sweep, both runs land
in MLflow as children of the sweep. The test starts the head and stops it by its own
process group."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SMALL_JENA
from tests.test_end_to_end import seqexp
from tests.test_mlflow_server import free_port
from tests.test_sweeps import FAST, sweep_runs

pytest.importorskip("hydra_plugins.hydra_ray_launcher")

# Keep every Ray address on the loopback interface (Ray otherwise swaps 127.0.0.1 for the
# machine's routable address).
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory):
    ray = shutil.which("ray", path=str(Path(sys.executable).parent))
    assert ray, "the ray CLI is missing: pip install -e '.[ray]'"
    port = free_port()
    log = tmp_path_factory.mktemp("ray") / "head.log"
    head = subprocess.Popen(
        [ray, "start", "--head", "--block", "--port", str(port), "--node-ip-address",
         "127.0.0.1", "--num-cpus", "2", "--include-dashboard", "false",
         "--disable-usage-stats"],
        stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, **LOOPBACK})
    try:
        deadline = time.monotonic() + 120
        while "Ray runtime started" not in log.read_text(errors="replace"):
            if head.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ray head did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:  # the head and every daemon it started share its process group
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=8)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(head.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        head.wait()


@pytest.mark.slow  # a Ray head and its workers: over a minute on 2 cores
def test_two_job_sweep_on_ray(tmp_path, jena_csv, ray_head):
    uri = f"sqlite:///{tmp_path / 'ray.db'}"
    out = seqexp("-m", "hydra/launcher=ray-cluster", f"hydra.launcher.ray.init.address={ray_head}",
                 "model=gru,dense", "dataset=jena", f"dataset.path={jena_csv}", *SMALL_JENA,
                 *FAST, f"tracking.uri={uri}", cwd=tmp_path, env=LOOPBACK)
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"Connecting to existing Ray cluster at address: {ray_head}" in out.stderr
    client, parent, children = sweep_runs(uri)
    assert parent.data.tags["seqexp.launcher"] == "RayLauncher"
    assert sorted(r.info.run_name for r in children) == ["model=dense", "model=gru"]
    assert {r.info.status for r in children} == {"FINISHED"}
    for run in children:
        assert len(client.get_metric_history(run.info.run_id, "val_mae")) == 2
        assert run.data.tags["seqexp.pid"] != str(os.getpid())
