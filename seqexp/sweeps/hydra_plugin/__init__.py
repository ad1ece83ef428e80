"""seqexp's Hydra sweeper plugin (``hydra/sweeper=optuna``), installed as
``hydra_plugins.seqexp_sweeper`` (Hydra instantiates plugin classes only from that namespace);
the work is in :mod:`seqexp.sweeps.search`."""
