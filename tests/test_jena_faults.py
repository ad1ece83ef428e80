"""Faults in a Jena record (issue 8 point 7): -9999 glitches, empty cells, duplicated and
out-of-order timestamps. dataset.clean=fill repairs and counts them; dataset.clean=none keeps
the book's raw values; what cannot be repaired is one line naming the rows."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from seqexp import data
from seqexp.data import jena
from seqexp.data.jena import MAX_TARGET_GAP
from seqexp.data.synthetic import JENA_COLUMNS, write_jena_csv
from seqexp.errors import SeqexpError
from tests.conftest import SMALL_JENA, compose_cfg
from tests.test_bad_input import assert_clean_failure
from tests.test_end_to_end import seqexp

FEATURES = JENA_COLUMNS[1:]
WV, MAX_WV, T = FEATURES.index("wv (m/s)"), FEATURES.index("max. wv (m/s)"), FEATURES.index(
    "T (degC)")


def cleaned_lines(err: str) -> list[str]:
    """The cleaning stage's lines, less their prefix and their time: "4,000 rows; <fixes>"."""
    return [re.sub(r" in \d+\.\d s", "", line.removeprefix("seqexp: cleaned jena.csv: "))
            for line in err.splitlines() if line.startswith("seqexp: cleaned")]


def faulty_csv(path, *, cells=(), duplicate=(), swap=()):
    """A write_jena_csv record (4,000 rows, the real format) with faults injected in its text:
    ``cells``: (data row, column, text) replacements ("-9999.00", ""), 0-based data rows;
    ``duplicate``: data rows repeated right after themselves; ``swap``: pairs of data rows
    exchanged (out-of-order time)."""
    write_jena_csv(path, rows=4000, seed=3)
    header, *rows = path.read_text().splitlines()
    rows = [r.split(",") for r in rows]
    for row, column, text in cells:
        rows[row][JENA_COLUMNS.index(column)] = text
    for a, b in swap:
        rows[a], rows[b] = rows[b], rows[a]
    for row in sorted(duplicate, reverse=True):
        rows.insert(row + 1, list(rows[row]))
    path.write_text("\n".join([header, *(",".join(r) for r in rows)]) + "\n")
    return path


def load(path, *overrides):
    cfg = compose_cfg("dataset=jena", f"dataset.path={path}", *SMALL_JENA, *overrides)
    return data.load(cfg.dataset)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The unfaulted record, loaded: the reference values."""
    path = write_jena_csv(tmp_path_factory.mktemp("clean") / "jena.csv", rows=4000, seed=3)
    return pd.read_csv(path)[FEATURES].to_numpy(np.float64)


def test_glitches_and_empty_cells_are_filled_by_time_interpolation(tmp_path, clean, capfd):
    path = faulty_csv(tmp_path / "jena.csv", cells=[
        (100, "wv (m/s)", "-9999.00"), (101, "wv (m/s)", "-9999.00"),
        (2500, "wv (m/s)", "-9999.00"),
        (700, "max. wv (m/s)", "-9999.00"), (50, "p (mbar)", ""), (3999, "rh (%)", ""),
        (1200, "T (degC)", ""), (0, "T (degC)", "")])
    splits = load(path)
    raw = pd.read_csv(path)[FEATURES].to_numpy(np.float64)
    assert raw[100, WV] == -9999.0 and np.isnan(raw[50, 0])
    cleaned, _ = jena.clean_record(jena.read_record(path), FEATURES, "T (degC)", path)
    cleaned = cleaned[FEATURES].to_numpy(np.float64)
    # interior gaps: linear in time between the neighbours (equal 10-minute steps)
    rise = clean[102, WV] - clean[99, WV]
    np.testing.assert_allclose(cleaned[100, WV], clean[99, WV] + rise / 3, atol=1e-3)
    np.testing.assert_allclose(cleaned[101, WV], clean[99, WV] + 2 * rise / 3, atol=1e-3)
    for row, col in ((2500, WV), (700, MAX_WV), (50, 0), (1200, T)):
        middle = (clean[row - 1, col] + clean[row + 1, col]) / 2
        np.testing.assert_allclose(cleaned[row, col], middle, atol=1e-3)
    # the record's edges take the nearest value
    np.testing.assert_allclose(cleaned[3999, FEATURES.index("rh (%)")],
                               clean[3998, FEATURES.index("rh (%)")], atol=1e-3)
    np.testing.assert_allclose(cleaned[0, T], clean[1, T], atol=1e-3)
    # every other cell untouched
    touched = np.zeros_like(clean, bool)
    for r, c in ((100, WV), (101, WV), (2500, WV), (700, MAX_WV), (50, 0), (3999, 4), (1200, T),
                 (0, T)):
        touched[r, c] = True
    np.testing.assert_allclose(cleaned[~touched], clean[~touched], atol=1e-3)
    assert splits.info.cleaned == {
        "data.cleaned.reordered": 0, "data.cleaned.duplicates": 0, "data.cleaned.glitches": 4,
        "data.cleaned.empty": 4, "data.cleaned.empty.p_mbar": 1, "data.cleaned.empty.T_degC": 2,
        "data.cleaned.empty.rh": 1, "data.cleaned.glitches.wv_m_s": 3,
        "data.cleaned.glitches.max_wv_m_s": 1}
    assert cleaned_lines(capfd.readouterr().err)[:1] == [
        "4,000 rows; p (mbar) 1 empty cells filled, T (degC) 2 empty cells filled, rh (%) 1 "
        "empty cells filled, wv (m/s) 3 glitches filled, max. wv (m/s) 1 glitches filled"]


def test_duplicate_and_out_of_order_timestamps(tmp_path, clean, capfd):
    path = faulty_csv(tmp_path / "jena.csv", duplicate=[10, 3000], swap=[(500, 501), (900, 950)])
    splits = load(path)
    assert splits.info.rows == 4000  # the two repeats dropped
    assert splits.info.cleaned["data.cleaned.duplicates"] == 2
    # rows earlier than the row before them: 502 (after 501), 902 (after 951), 951 (after 901)
    assert splits.info.cleaned["data.cleaned.reordered"] == 3
    err = capfd.readouterr().err
    assert cleaned_lines(err) == [
        "4,000 rows; 2 duplicate timestamps dropped, 3 out-of-order rows sorted by time"]
    # a quick stage says nothing, unless it fixed something
    assert re.fullmatch(r"seqexp: cleaned jena\.csv: 4,000 rows in \d\.\d s; 2 dup[^\n]*\n", err)
    reference = load(write_jena_csv(tmp_path / "ref.csv", rows=4000, seed=3))
    np.testing.assert_allclose(splits.val.data, reference.val.data, atol=1e-6)


def test_clean_none_keeps_the_book_raw_values(tmp_path):
    path = faulty_csv(tmp_path / "jena.csv", cells=[(100, "wv (m/s)", "-9999.00")])
    raw = pd.read_csv(path)[FEATURES].to_numpy(np.float32)
    splits = load(path, "dataset.clean=none")
    train = raw[0:2400]
    np.testing.assert_allclose(splits.val.data, (raw - train.mean(0)) / train.std(0), atol=1e-4)
    assert splits.val.data[100, WV] < -10  # the glitch is still there, normalized
    assert splits.info.cleaned is None
    filled = load(path)
    assert filled.val.data[100, WV] > -5 and filled.info.cleaned["data.cleaned.glitches"] == 1


@pytest.mark.parametrize("faults, overrides, message", [
    (dict(cells=[(1200, "T (degC)", ""), (1201, "T (degC)", ""), (2000, "T (degC)", "")]),
     ["dataset.clean=none"], "column 'T (degC)' is empty at data rows 1201, 1202, 2001 "
     "(dataset.clean=none"),
    (dict(cells=[(7, "wv (m/s)", "")]), ["dataset.clean=none"],
     "column 'wv (m/s)' is empty at data row 8 "),
    (dict(cells=[(r, "T (degC)", "") for r in range(1500, 1500 + MAX_TARGET_GAP + 1)]), [],
     f"target 'T (degC)' is missing for {MAX_TARGET_GAP + 1} rows in a row (data rows "
     f"1501-{1501 + MAX_TARGET_GAP})"),
    (dict(cells=[(30, "Date Time", ""), (31, "Date Time", "31.02.2009 00:00:00")]), [],
     "'Date Time' is empty or not a %d.%m.%Y %H:%M:%S time at data rows 31, 32"),
])
def test_faults_that_cannot_be_repaired_name_the_rows(tmp_path, faults, overrides, message):
    path = faulty_csv(tmp_path / "jena.csv", **faults)
    with pytest.raises(SeqexpError) as err:
        load(path, *overrides)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.slow  # two TensorFlow processes; the messages are checked in process above
def test_cli_logs_the_counts_and_refuses_a_long_target_gap_in_one_line(tmp_path):
    path = faulty_csv(tmp_path / "jena.csv", cells=[(100, "wv (m/s)", "-9999.00"),
                                                    (101, "max. wv (m/s)", "-9999.00")],
                      duplicate=[5])
    uri = f"sqlite:///{tmp_path / 's.db'}"
    common = ["dataset=jena", *SMALL_JENA, "model=dense", "trainer.epochs=1",
              "trainer.steps_per_epoch=2", "trainer.batch_size=16", f"tracking.uri={uri}"]
    out = seqexp(*common, f"dataset.path={path}", cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    assert cleaned_lines(out.stderr) == ["4,000 rows; wv (m/s) 1 glitches filled, max. wv (m/s) "
                                         "1 glitches filled, 1 duplicate timestamps dropped"]
    client = MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("seqexp").experiment_id])
    metrics = run.data.metrics
    assert metrics["data.cleaned.glitches"] == 2 and metrics["data.cleaned.duplicates"] == 1
    assert metrics["data.cleaned.glitches.wv_m_s"] == 1
    assert run.data.params["dataset.clean"] == "fill"

    gap = faulty_csv(tmp_path / "gap.csv",
                     cells=[(r, "T (degC)", "-9999.00") for r in range(2000, 2010)])
    out = seqexp(*common, f"dataset.path={gap}", cwd=tmp_path)
    line = assert_clean_failure(out, tmp_path, uri, "missing for 10 rows in a row",
                                "data rows 2001-2010")
    assert [x for x in out.stderr.splitlines() if x.startswith("seqexp:")] == [line]
