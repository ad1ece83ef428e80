"""``examples/chapter6.ipynb`` executed as a reader would run it (a fresh kernel in an empty
folder, the bundled data): the values it prints tell the chapter's story, and its runs are in
the MLflow store ``seqexp-report`` reads."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "chapter6.ipynb"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def printed(nb) -> str:
    """Everything the cells printed or displayed as text, each output on its own lines."""
    return "\n".join(out.get("text", "") + out.get("data", {}).get("text/plain", "")
                     for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs)


def test_the_notebook_is_kept_without_outputs():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    assert NOTEBOOK.stat().st_size < 20_000


@pytest.mark.slow  # seven jobs (one GRU run, a 6-job sweep): about 3-5 minutes on 2 cores
def test_the_chapter_notebook_runs_and_the_gru_beats_the_baseline(tmp_path):
    import nbformat
    from mlflow.tracking import MlflowClient
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=1200, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, ARTIFACTS / "chapter6.executed.ipynb")  # kept to look at (gitignored)
    text = printed(nb)

    assert "refused: In 'config': Could not find 'model/transformer'" in text
    baseline = float(re.search(r"persistence baseline: val MAE (\d\.\d{4})", text)[1])
    assert baseline == pytest.approx(0.2630, abs=1e-4)  # the bundled record's val windows
    assert "GRU beats the baseline: True" in text
    rows = re.findall(r"^(model=\w+): val MAE (\d\.\d+) \+- \d\.\d+ \(n=(\d)\), "
                      r"skill ([+-]\d\.\d+), beats the baseline: (\S+)$", text, re.M)
    assert [(name, n) for name, _, n, _, _ in rows] == [("model=gru", "3"), ("model=dense", "3")]
    (_, gru_mae, _, gru_skill, gru_beats), (_, dense_mae, _, _, dense_beats) = rows
    assert float(gru_skill) > 0 and gru_beats == "True" and float(gru_mae) < float(dense_mae)
    assert dense_beats in ("False", "<NA>")
    assert any("image/png" in out.get("data", {}) for cell in nb.cells
               if cell.cell_type == "code" for out in cell.outputs)  # the learning curves
    address = re.search(r"MLflow UI \(after `seqexp-ui` in this folder\): (\S+)", text)[1]

    # the same runs in the store seqexp-report and seqexp-ui read
    run_id = re.search(r"Result\(run_id='([0-9a-f]{32})'", text)[1]
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.metrics["val_skill"] > 0
    assert address.endswith(f"#/experiments/{run.info.experiment_id}/runs?workflowType="
                            "machine_learning&viewStateShareKey=seqexp-compare")
    report = subprocess.run([sys.executable, "-m", "seqexp.cli.report", "--uri",
                             f"sqlite:///{tmp_path / 'mlflow.db'}", "--out", str(tmp_path / "r")],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert report.returncode == 0, report.stderr[-2000:]
    assert "model=gru" in report.stdout and "model=dense" in report.stdout
