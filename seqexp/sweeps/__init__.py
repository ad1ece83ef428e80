"""Sweeps that survive: the sweep's parent run (:mod:`~seqexp.sweeps.callback`, a Hydra
callback), resuming a sweep in its own parent run (:mod:`~seqexp.sweeps.resume`, jobs matched
by :mod:`seqexp.tracking.identity`), and seqexp's Optuna search (persistent study, pruning);
the Hydra sweeper plugin is ``hydra_plugins.seqexp_sweeper``.
"""
