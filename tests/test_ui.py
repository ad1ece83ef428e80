"""The UI path in a real browser: a finished sweep, `seqexp-ui` on its store, the printed
address opened in headless Chromium (Debian's, driven by Playwright), the parent, its
children and their descriptions on the page. Slow (about 2-4 minutes on 2 cores).

Set-up (once): `apt-get install -y chromium` (the test uses /usr/bin/chromium, or
SEQEXP_CHROMIUM) and `pip install -e '.[dev]'` (Playwright from PyPI; its own browser download
is not needed). Without either the test is skipped, saying which is missing. The screenshot
is kept as tests/artifacts/ui-runs-table.png (SEQEXP_TEST_ARTIFACTS moves it).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.conftest import SMALL_JENA
from tests.test_end_to_end import seqexp

CHROMIUM = os.environ.get("SEQEXP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("SEQEXP_TEST_ARTIFACTS")
                 or Path(__file__).resolve().parent / "artifacts")


def _browser_or_skip():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium "
                    "(or set SEQEXP_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed: pip install -e '.[dev]'")
    return sync_playwright


def start_ui(uri: str, cwd: Path) -> tuple[subprocess.Popen, str]:
    """`seqexp-ui` on ``uri``; returns it and the runs-table address it printed."""
    ui = subprocess.Popen([sys.executable, "-m", "seqexp.cli.ui", f"tracking.uri={uri}",
                           "--port", str(_free_port())],
                          cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = ui.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "#/experiments/" in line:
            return ui, line.strip()
    ui.kill()
    raise AssertionError("seqexp-ui printed no address:\n" + "".join(lines))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_sweep_in_the_browser(tmp_path, jena_csv, new_store):
    sync_playwright = _browser_or_skip()
    uri = new_store(tmp_path / "ui.db")
    out = seqexp("-m", "model=gru,dense", "dataset=jena", f"dataset.path={jena_csv}",
                 *SMALL_JENA, "trainer.epochs=2", "trainer.steps_per_epoch=2",
                 "trainer.batch_size=32", "trainer.verbose=0", f"tracking.uri={uri}",
                 cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs([client.get_experiment_by_name("seqexp").experiment_id])
    parent = next(r for r in runs if r.data.tags.get("seqexp.sweep") == "true")
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 2

    ui, address = start_ui(uri, tmp_path)
    try:
        assert "workflowType=machine_learning" in address
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1800, "height": 900})
            page.goto(address)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / "ui-runs-table.png"
            try:
                # the parent row, then its children: one click on the sweep's expander
                page.get_by_text("Sweep of 2 jobs").first.wait_for(timeout=120_000)
                page.locator("button[data-component-id*='runnamecellrenderer']").first.click()
                page.get_by_text("model=dense", exact=True).wait_for(timeout=60_000)
                page.wait_for_timeout(2000)  # let the columns of the saved view render
            finally:  # kept, failure or not
                page.screenshot(path=str(shot), full_page=True)
                print(f"screenshot: {shot}")
            text = page.inner_text("body")
            browser.close()
    finally:
        ui.send_signal(signal.SIGTERM)
        ui.wait(timeout=60)

    # the parent and both children, in the runs table (not the GenAI overview)
    assert parent.info.run_name in text
    assert "model=gru" in text and "model=dense" in text
    # the saved view's columns: each run beside its baseline, and the descriptions
    for column in ("naive_val_mae", "best_val_mae", "val_skill", "Description"):
        assert column in text, column
    assert "Sweep of 2 jobs" in text  # the parent's description
    for child in children:
        first_line = child.data.tags["mlflow.note.content"].splitlines()[0]
        assert first_line[:30] in text, first_line
