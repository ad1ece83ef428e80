"""The ``seqexp`` entry point: compose the config with Hydra, validate it, run one job.

TensorFlow, Keras and MLflow are imported only inside :func:`seqexp.job.run_job`, after the
config has been validated, so ``seqexp --help`` and config errors answer at once.
"""

from __future__ import annotations

import os
import signal
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


def _fail(err: BaseException, multirun: bool, cfg: DictConfig) -> float:
    """One line for the user. A single run exits 2; a sweep's job returns NaN (a failed
    trial for Optuna) so that the other jobs go on, after making sure the failure is a
    FAILED run in MLflow (the sweep's table and exit code come from there)."""
    print(f"seqexp: error: {err}", file=sys.stderr)
    if not multirun:
        sys.exit(2)
    if not getattr(err, "run_id", None):  # failed before its run was opened
        from seqexp.tracking import record_failure

        try:
            record_failure(cfg, err)
        except SeqexpError as unrecorded:
            print(f"seqexp: error: {unrecorded}", file=sys.stderr)
    return float("nan")


@hydra.main(version_base="1.3", config_path="pkg://seqexp.conf", config_name="config")
def task(cfg: DictConfig) -> float | None:
    """Run one job and return the best validation metric (what a sweeper optimizes)."""
    multirun = _multirun()
    try:
        config.validate(cfg)
    except SeqexpError as err:
        return _fail(err, multirun, cfg)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        from seqexp.job import run_job

        return run_job(cfg)
    except SeqexpError as err:
        return _fail(err, multirun, cfg)
    except KeyboardInterrupt as err:
        run_id = getattr(err, "run_id", None)
        hint = (f": run {run_id} is KILLED; continue it with trainer.resume={run_id}"
                if run_id else "")
        print(f"seqexp: interrupted{hint}", file=sys.stderr)
        sys.exit(130)
    except Exception as err:  # a bug: keep its traceback, and in a sweep go on
        if not multirun:
            raise
        traceback.print_exc()
        return _fail(err, multirun, cfg)


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM ends a job like Ctrl-C: the run is recorded KILLED, its checkpoint kept."""
    raise KeyboardInterrupt(f"signal {signum}")


HYDRA_NOISE = ("full_key:", "reference_type", "object_type", "Config search path",
               "provider=", "Set the environment variable HYDRA_FULL_ERROR")


def one_line(err: BaseException) -> str:
    """Hydra's and OmegaConf's multi-line config errors as one line (option lists joined)."""
    parts: list[str] = []
    for exc in (err, err.__cause__):
        if exc is None:
            continue
        for raw in str(exc).splitlines():
            line = raw.strip()
            if not line or line.startswith(HYDRA_NOISE) or line in parts:
                continue
            if raw.startswith("\t") and parts and parts[-1].endswith((":", ",")):
                parts[-1] = f"{parts[-1]} {line},"
            else:
                parts.append(line)
    return "; ".join(p.rstrip(",") for p in parts)


def main() -> None:
    """Console entry point: config errors are one line and exit code 2; a bug keeps its
    traceback (as does everything with HYDRA_FULL_ERROR=1 set by the user)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    user_wants_traceback = os.environ.get("HYDRA_FULL_ERROR") == "1"
    os.environ["HYDRA_FULL_ERROR"] = "1"  # let Hydra raise instead of printing and exiting 1
    try:
        task()
    except (HydraException, OmegaConfBaseException) as err:
        if user_wants_traceback:
            raise
        print(f"seqexp: error: {one_line(err)}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
