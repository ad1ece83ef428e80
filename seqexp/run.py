"""The ``seqexp`` entry point: compose the config with Hydra, validate it, run one job.

TensorFlow, Keras and MLflow are imported only inside :func:`seqexp.job.run_job`, after the
config has been validated, so ``seqexp --help`` and config errors answer at once.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from seqexp import config  # noqa: E402
from seqexp.errors import SeqexpError  # noqa: E402

config.register()


@hydra.main(version_base="1.3", config_path="pkg://seqexp.conf", config_name="config")
def task(cfg: DictConfig) -> float | None:
    """Run one job and return the validation metric (what a sweeper optimizes)."""
    try:
        config.validate(cfg)
        from seqexp.job import run_job

        return run_job(cfg)
    except SeqexpError as err:
        print(f"seqexp: error: {err}", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    task()


if __name__ == "__main__":
    main()
