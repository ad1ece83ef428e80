"""The ``seqexp`` entry point: compose the config with Hydra, validate it, run one job.

TensorFlow, Keras and MLflow are imported only inside :func:`seqexp.training.job.run_job`,
after the config has been validated, so ``seqexp --help`` and config errors answer at once.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Iterator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out

import hydra  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from seqexp import console  # noqa: E402
from seqexp.config import schemas  # noqa: E402
from seqexp.config.messages import one_line  # noqa: E402
from seqexp.data import files  # noqa: E402
from seqexp.errors import SeqexpError  # noqa: E402
from seqexp.training import interrupts  # noqa: E402

schemas.register()


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
        from seqexp.tracking.lifecycle import record_failure

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
        if cfg.sweep.resume and not multirun:
            raise SeqexpError(f"sweep.resume={cfg.sweep.resume} continues a sweep: run it with "
                              "-m and the sweep's overrides (trainer.resume=<run id> continues "
                              "one run)")
        if multirun:  # in a resumed sweep: the job done before is reused, or continued
            from seqexp.sweeps.resume import prepare

            done, cfg = prepare(cfg)
            if done is not None:
                return done
        schemas.validate(cfg)
        if not cfg.trainer.get("resume"):  # a resumed run reads its recorded config's files
            files.check_inputs(cfg)  # missing, empty, misnamed: before TensorFlow loads
    except SeqexpError as err:
        return _fail(err, multirun, cfg)
    interrupts.install()  # SIGTERM and Ctrl-C stop training at a safe point
    try:
        console.load_backend()  # TensorFlow's native start-up lines filtered out
        from seqexp.training.job import run_job

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


@contextlib.contextmanager
def hydra_raises() -> Iterator[None]:
    """Let Hydra raise its errors to us (its documented HYDRA_FULL_ERROR switch), for the
    duration of the call only."""
    before = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = before


def main() -> None:
    """Console entry point: config errors are one line and exit code 2; a bug keeps its
    traceback (as does everything with HYDRA_FULL_ERROR=1 set by the user)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    console.setup()  # quiet start-up, fast --help (SEQEXP_DEBUG=1 shows everything)
    user_wants_traceback = os.environ.get("HYDRA_FULL_ERROR") == "1"
    try:
        with hydra_raises():
            task()
    except (HydraException, OmegaConfBaseException) as err:
        if user_wants_traceback:
            raise
        print(f"seqexp: error: {one_line(err)}", file=sys.stderr)
        sys.exit(2)
    except AssertionError as err:  # OmegaConf on `+a.b=...` where a is null (Hydra 1.3)
        if user_wants_traceback or "Unexpected type for root" not in str(err):
            raise
        added = " ".join(arg for arg in sys.argv[1:] if arg.startswith("+"))
        print(f"seqexp: error: cannot add {added}: its parent key is null in the composed "
              "config (seqexp --cfg job shows it); set the parent, or use +extra.<key>=...",
              file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:  # the sweep process itself stopped (its callback said how)
        sys.exit(130)
    except Exception as err:  # joblib's worker killed (SIGKILL, out of memory): not a bug
        if user_wants_traceback or type(err).__name__ != "TerminatedWorkerError":
            raise
        print(f"seqexp: error: a worker process of the sweep died: "
              f"{str(err).strip().splitlines()[0][:200]}", file=sys.stderr)
        sys.exit(1)


def command() -> None:
    """The ``seqexp`` console script: :func:`main`, then the process ends without the
    interpreter's seconds of teardown (:mod:`seqexp.cli.quick_exit`)."""
    from seqexp.cli.quick_exit import skipping_teardown

    with skipping_teardown():
        main()


if __name__ == "__main__":
    command()
