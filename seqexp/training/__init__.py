"""Training one job: the job from dataset to tracked results (:mod:`~seqexp.training.job`),
compile and fit (:mod:`~seqexp.training.train`), per-epoch backups
(:mod:`~seqexp.training.backup`), safe-point interrupts (:mod:`~seqexp.training.interrupts`),
text generation (:mod:`~seqexp.training.generation`) and embedding neighbours
(:mod:`~seqexp.training.neighbours`); the baselines and scores are the task's
(:mod:`seqexp.tasks`).
"""
