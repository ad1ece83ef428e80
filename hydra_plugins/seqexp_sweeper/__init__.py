"""seqexp's Hydra sweeper plugin (``hydra/sweeper=optuna``): found by Hydra's plugin scan
of the ``hydra_plugins`` namespace; the work is in :mod:`seqexp.sweeps.search`."""
