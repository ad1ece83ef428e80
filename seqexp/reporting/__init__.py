"""Reading runs back: leaderboards (:mod:`~seqexp.reporting.leaderboard`), seed-aware
comparison (:mod:`~seqexp.reporting.compare`), tables and charts
(:mod:`~seqexp.reporting.tables`), the book's table (:mod:`seqexp.reporting.book`) and
MLflow's UI on the runs (:mod:`~seqexp.reporting.ui`).
"""
