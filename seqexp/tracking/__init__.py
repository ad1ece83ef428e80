"""MLflow tracking: the store (URI, lock, client; :mod:`~seqexp.tracking.store`), one run and
what it logs (:mod:`~seqexp.tracking.run`), the run's lifecycle and resume
(:mod:`~seqexp.tracking.lifecycle`), the outage buffer and ``seqexp-flush``
(:mod:`~seqexp.tracking.outage`), MLflow's UI conventions
(:mod:`~seqexp.tracking.conventions`), what code and packages recreate a run
(:mod:`~seqexp.tracking.provenance`) and which job a run is (:mod:`~seqexp.tracking.identity`).
"""
