"""The Jena loader, window/target semantics against a direct slow reference, and the
persistence baseline against the book's listing 6.35 method."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqexp import data
from seqexp.data.batches import WindowBatches
from seqexp.data.synthetic import JENA_COLUMNS
from seqexp.data.windows import Windows
from seqexp.errors import SeqexpError
from seqexp.tasks.regression import REGRESSION
from tests.book_generator import book_generator
from tests.conftest import SMALL_JENA, compose_cfg


def load(path, *overrides):
    cfg = compose_cfg("dataset=jena", f"dataset.path={path}", *SMALL_JENA, *overrides)
    return data.load(cfg.dataset)


def test_loads_csv_and_zip_identically(jena_csv, jena_zip):
    a, b = load(jena_csv), load(jena_zip)
    assert a.holds == "numbers" and a.task.name == "regression"
    np.testing.assert_array_equal(a.train.data, b.train.data)
    assert a.info.rows == 4000 and a.info.features == JENA_COLUMNS[1:]
    assert a.info.unit == "degc" and len(a.info.sha256) == 64


def test_normalized_with_training_rows_only(jena_csv):
    splits = load(jena_csv)
    raw = pd.read_csv(jena_csv)[JENA_COLUMNS[1:]].to_numpy(np.float32)
    train = raw[0:2400]
    expected = (raw - train.mean(0)) / train.std(0)
    np.testing.assert_allclose(splits.val.data, expected, atol=1e-4)
    assert splits.info.scale == pytest.approx(train[:, 1].std(), rel=1e-5)


def test_windows_match_the_book_generator(jena_csv):
    splits = load(jena_csv)
    val = splits.val
    reference = book_generator(val.data, 144, 12, 2401, 3200, step=6)
    batches = WindowBatches(val, 128)
    for index in range(3):
        ref_x, ref_y = next(reference)
        x, y = batches[index]
        np.testing.assert_allclose(x, ref_x, rtol=1e-6)
        np.testing.assert_allclose(y, ref_y, rtol=1e-6)
    assert val.ends[0] == 2401 + 144 and val.ends[-1] == 3199


def test_window_semantics_direct():
    series = np.arange(100, dtype=np.float32)[:, None].repeat(2, axis=1)
    w = Windows.between(series, 0, None, lookback=10, step=3, delay=5, target_col=1)
    assert w.ends[0] == 10 and w.ends[-1] == 100 - 5 - 2
    x = w.inputs(np.array([10, 50]))
    np.testing.assert_array_equal(x[:, :, 0], [[0, 3, 6, 9], [40, 43, 46, 49]])
    np.testing.assert_array_equal(w.targets(np.array([10, 50])), [15, 55])
    np.testing.assert_array_equal(w.last_observed()[:2], [9, 10])


def test_training_batches_are_seeded_and_reshuffled(jena_csv):
    splits = load(jena_csv)
    a = WindowBatches(splits.train, 32, shuffle=True, seed=1, steps=5)
    b = WindowBatches(splits.train, 32, shuffle=True, seed=1, steps=5)
    assert len(a) == 5
    np.testing.assert_array_equal(a[0][1], b[0][1])
    a.schedule(0, 3)  # three epochs: a fresh permutation each, batch i a function of i
    assert len(a) == 15
    assert not np.array_equal(a[0][1], a[5][1])
    b.schedule(1, 3)  # a run resumed at epoch 1 sees epoch 1's batches first
    np.testing.assert_array_equal(a[5][1], b[0][1])
    np.testing.assert_array_equal(a[14][0], b[9][0])


def test_unshuffled_training_windows_walk_in_order_across_epochs(jena_csv):
    splits = load(jena_csv)
    w = WindowBatches(splits.train, 32, shuffle=False, steps=3, train=True)
    w.schedule(0, 2)
    ends = [splits.train.ends[0] + i for i in range(6 * 32)]  # epoch 1 continues epoch 0
    got = np.concatenate([w[i][1] for i in range(6)])
    np.testing.assert_array_equal(got, splits.train.targets(np.array(ends)))


def test_baseline_on_a_series_with_a_known_answer():
    # T rises by exactly 0.5 per row: persistence is off by 0.5 * (delay + step) everywhere.
    series = np.stack([np.zeros(500), 0.5 * np.arange(500)], axis=1).astype(np.float32)
    w = Windows.between(series, 0, None, lookback=12, step=3, delay=7, target_col=1)
    splits = data.Splits("numbers", REGRESSION, w, w, w,
                         data.DataInfo(source="<test>", unit="degc", scale=2.0))
    naive = splits.task.baseline(splits, "val")
    assert naive["naive_val_mae"] == pytest.approx(0.5 * (7 + 3))
    assert naive["naive_val_mae_degc"] == pytest.approx(0.5 * (7 + 3) * 2.0)


def test_baseline_matches_listing_6_35(jena_csv):
    splits = load(jena_csv)
    gen = book_generator(splits.val.data, 144, 12, 2401, 3200)
    val_steps = (3200 - 2401 - 144) // 128
    book = np.mean([np.mean(np.abs(x[:, -1, 1] - y)) for x, y in
                    (next(gen) for _ in range(val_steps))])
    ours = splits.task.baseline(splits, "val")["naive_val_mae"]
    assert ours == pytest.approx(book, rel=0.01)


@pytest.mark.parametrize("edit, message", [
    (lambda f: f.rename(columns={"T (degC)": "T"}), "lacks column(s) 'T (degC)'"),
    (lambda f: f.drop(columns=["Date Time"]), "no 'Date Time' column"),
    (lambda f: f.assign(**{"p (mbar)": f["p (mbar)"].astype(str).where(
        f.index != 7, "12,5x")}), "non-numeric value '12,5x' at data row 8"),
    (lambda f: f.iloc[:2000], "has 2000 rows but dataset.train=[0, 2400] reaches row 2400"),
])
def test_bad_csv_gets_one_clear_error(tmp_path, jena_csv, edit, message):
    bad = tmp_path / "bad.csv"
    edit(pd.read_csv(jena_csv)).to_csv(bad, index=False)
    escaped = message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    with pytest.raises(SeqexpError, match=escaped.replace("]", r"\]")):
        load(bad)


def test_split_bounds_are_a_python_slice(jena_csv):
    """[start, stop): splits may touch; a stop equal to the record's length is its end."""
    splits = load(jena_csv, "dataset.val=[2400,3200]", "dataset.test=[3200,4000]")
    assert splits.train.ends[-1] == 2399 and splits.val.ends[0] == 2400 + 144
    assert splits.test.ends[-1] == 4000 - 12 - 2  # the last row with a target (book: - 1)
    with pytest.raises(SeqexpError, match=r"dataset.test=\[3200, 4001\] reaches row 4001"):
        load(jena_csv, "dataset.test=[3200,4001]")


def test_too_few_rows_for_the_windows(jena_csv):
    with pytest.raises(SeqexpError, match="holds no window"):
        load(jena_csv, "dataset.lookback=900")


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(SeqexpError, match="does not exist"):
        load(tmp_path / "nope.csv")
    corrupt = tmp_path / "jena.csv.zip"
    corrupt.write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(SeqexpError, match="not a readable Jena CSV or zip"):
        load(corrupt)


def test_offline_download_says_how_to_pass_a_local_file(monkeypatch):
    cfg = compose_cfg("dataset=jena", "dataset.url=http://127.0.0.1:9/jena_climate.csv.zip")
    with pytest.raises(SeqexpError, match="pass a local copy with dataset.path="):
        data.load(cfg.dataset)


def test_the_prepared_record_is_read_once_then_from_the_cache(tmp_path, monkeypatch):
    """The second load of a record reads the prepared values from the cache (no CSV parsed,
    same arrays, same cleaning counts); an edited file, or other columns, prepare anew."""
    from seqexp.data import jena
    from seqexp.data.synthetic import write_jena_csv

    path = write_jena_csv(tmp_path / "jena.csv", rows=4000, seed=5)
    frame = pd.read_csv(path)
    frame.loc[10, "T (degC)"] = -9999.0  # a glitch that cleaning fills
    frame.to_csv(path, index=False)
    first = load(path)
    reads = []
    real_read = jena.read_record
    monkeypatch.setattr(jena, "read_record", lambda source: reads.append(source) or
                        real_read(source))
    again = load(path)
    assert reads == []  # from the cache
    np.testing.assert_array_equal(again.val.data, first.val.data)
    assert again.info.cleaned == first.info.cleaned
    assert first.info.cleaned["data.cleaned.glitches.T_degC"] == 1
    load(path, "dataset.features=['p (mbar)','T (degC)']")
    assert len(reads) == 1  # other columns: prepared again
    frame.iloc[:3900].to_csv(path, index=False)  # the file changed
    assert load(path).info.rows == 3900 and len(reads) == 2
