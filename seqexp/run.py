"""The ``seqexp`` entry point: compose the config with Hydra, validate it, run one job.

TensorFlow, Keras and MLflow are imported only inside :func:`seqexp.job.run_job`, after the
config has been validated, so ``seqexp --help`` and config errors answer at once.
"""

from __future__ import annotations

import os
import sys
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from seqexp import config  # noqa: E402
from seqexp.errors import SeqexpError  # noqa: E402

config.register()


def _multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.get().mode == RunMode.MULTIRUN


def _fail(err: BaseException, multirun: bool) -> float:
    """One line for the user. A single run exits 2; a sweep's job returns NaN (a failed
    trial for Optuna) so that the other jobs go on and the sweep reports it at the end."""
    print(f"seqexp: error: {err}", file=sys.stderr)
    if not multirun:
        sys.exit(2)
    return float("nan")


@hydra.main(version_base="1.3", config_path="pkg://seqexp.conf", config_name="config")
def task(cfg: DictConfig) -> float | None:
    """Run one job and return the best validation metric (what a sweeper optimizes)."""
    multirun = _multirun()
    try:
        config.validate(cfg)
    except SeqexpError as err:
        if multirun:  # the sweep's table must show the refused job too
            from seqexp.tracking import record_failure

            record_failure(cfg, err)
        return _fail(err, multirun)
    try:
        from seqexp.job import run_job

        return run_job(cfg)
    except SeqexpError as err:
        return _fail(err, multirun)
    except Exception as err:  # a bug: keep its traceback, and in a sweep go on
        if not multirun:
            raise
        traceback.print_exc()
        return _fail(err, multirun)


def main() -> None:
    task()


if __name__ == "__main__":
    main()
