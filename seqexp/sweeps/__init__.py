"""Sweeps that survive: job identity, resuming a sweep in its own parent run, and seqexp's
Optuna search (persistent study, pruning). The Hydra side (the sweep's parent run) is the
callback in :mod:`seqexp.sweep`; the Hydra sweeper plugin is ``hydra_plugins.seqexp_sweeper``.
"""
