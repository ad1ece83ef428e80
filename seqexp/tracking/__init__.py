"""MLflow tracking: the store (URI, lock, client; :mod:`~seqexp.tracking.store`), one run and
what it logs (:mod:`~seqexp.tracking.run`), the run's lifecycle and resume
(:mod:`~seqexp.tracking.lifecycle`), the outage buffer and ``seqexp-flush``
(:mod:`~seqexp.tracking.outage`), MLflow's UI conventions
(:mod:`~seqexp.tracking.conventions`) and the sweep's parent run
(:mod:`~seqexp.tracking.sweep`, a Hydra callback).
"""
