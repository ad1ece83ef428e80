"""Real data (slow, not in the default run): the two fastest Keras-IMDB listings of the
chapter, 6.7 and 6.46, on the real imdb.npz, each against the book's range.

    SEQEXP_REAL_DATA=/path/to/folder pytest -m slow tests/test_real_imdb.py

The folder holds imdb.npz in Keras's layout and imdb_word_index.json beside it.
"""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from seqexp.reporting.book import presets, verdicts
from tests.conftest import compose_cfg
from tests.test_real_text import real_file

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("preset", ["6.7-imdb-embedding", "6.46-imdb-conv"])
def test_listing_on_the_real_imdb_lands_in_the_books_range(tmp_path, preset):
    from seqexp.training.job import run_job

    npz = real_file("imdb.npz")
    index = real_file("imdb_word_index.json")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # seed 0, as seqexp-book's first seed
    run_job(compose_cfg(f"experiment=book/{preset}", f"dataset.path={npz}",
                        f"dataset.word_index_path={index}", "trainer.seed=0",
                        "trainer.verbose=0", f"tracking.uri={uri}"))
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("seqexp").experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.params["dataset.path"] == str(npz)
    (listing,) = presets.load_presets([preset])
    low, high = verdicts.book_range(listing)
    accuracy = run.data.metrics[listing.metric]
    assert low <= accuracy <= high, (preset, accuracy, (low, high))
    assert verdicts.verdict(listing, accuracy) == "within the book's range"
    assert run.data.metrics["naive_val_acc"] == pytest.approx(0.5, abs=0.02)
