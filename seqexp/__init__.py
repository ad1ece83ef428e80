"""seqexp: the sequence experiments of *Deep Learning with Python*, chapter 6, as Hydra
configs, Keras runs and MLflow records. On the command line: ``seqexp``, ``seqexp-report``,
``seqexp-ui`` (see README.md); from Python (:mod:`seqexp.api`)::

    import seqexp
    result = seqexp.run("model=gru", "trainer.seed=0")
    seqexp.leaderboard()

Importing the package loads neither TensorFlow, Keras nor MLflow.
"""

from seqexp.api import Result, Sweep, compose, leaderboard, run, sweep, ui_address
from seqexp.errors import SeqexpError

__all__ = ["Result", "SeqexpError", "Sweep", "compose", "leaderboard", "run", "sweep",
           "ui_address"]
