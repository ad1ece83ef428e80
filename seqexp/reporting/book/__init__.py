"""``seqexp-book``: the chapter's table in one command.

Runs every book preset (``conf/experiment/book/``) whose data is at hand, each for ``--seeds``
seeds, as ONE Hydra multirun of ``seqexp`` (so one MLflow parent run with a child run per
preset and seed, made by the sweep callback as for any sweep), then reads the children back
and writes ``book.md``, ``book.csv`` and ``book.png``: listing | what the book reports |
seqexp mean +- std | naive baseline | verdict. The book's figures are read from each preset's
``book:`` block, the one place they are written.

The presets and their ``book:`` blocks (:mod:`~seqexp.reporting.book.presets`); the data at
hand for each (:mod:`~seqexp.reporting.book.sources`); the one sweep
(:mod:`~seqexp.reporting.book.sweep`); the runs read back into a table with verdicts
(:mod:`~seqexp.reporting.book.verdicts`); the table rendered
(:mod:`~seqexp.reporting.book.render`).
"""
