"""What seqexp shows on the terminal: its own lines, Keras's progress and Hydra's, nothing else.

Quiet by default. TensorFlow's native start-up lines (absl ``I0000 ... cudart_stub.cc``,
``E0000 ... failed call to cuInit ... (303)``) are written by C++ straight to file
descriptor 2 while TensorFlow is imported and its devices listed, where
``TF_CPP_MIN_LOG_LEVEL`` does not reach them: :func:`load_backend` runs that part with fd 2
captured and passes on every line that is not such chatter. MLflow's store-creation INFO,
its system-metrics INFO and matplotlib's font-cache notice are filtered at their loggers.

``SEQEXP_DEBUG=1`` turns all of this off (everything reaches the terminal as it comes).

:func:`fast_help` makes ``seqexp --help`` answer in about a second: Hydra fills every
``$...`` field of the help template up front, and listing the config groups copies the whole
config repository once per group (seconds); seqexp's template does not show that list, so it
is computed only for a template that asks for it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator

DEBUG_ENV = "SEQEXP_DEBUG"

# Native lines TensorFlow/XLA write while starting: absl's pre-init banner, and info/warning
# lines in absl's format (``I0000 00:00:1795430272.733278    8268 port.cc:153] ...``); the
# one error line dropped is cuInit's on a machine without a usable CUDA driver.
_NATIVE_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"
    r"|E\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] failed call to cuInit)")

# logger: its messages below WARNING are dropped, and those matching the pattern at any level
_QUIET_LOGGERS = {
    "mlflow.store.db.utils": None,  # "Creating initial MLflow database tables..."
    "alembic.runtime.migration": None,  # "Context impl SQLiteImpl", "Will assume ..."
    # "Started monitoring ...", and while a store is away (seqexp says so in one line)
    # "Failed to get mlflow run", "Failed to log system metrics", "Error terminating ..."
    "mlflow.system_metrics.system_metrics_monitor": re.compile(
        "^(Failed to (get|log)|Error terminating)"),
    "mlflow.models.model": None,
    "matplotlib.font_manager": re.compile("building the font cache"),
    "urllib3.connectionpool": re.compile("^Retrying "),  # one per failed request to a store
}


def debug() -> bool:
    """``SEQEXP_DEBUG`` set to anything but empty/0/false: show everything."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() not in ("", "0", "false", "no")


class _Drop(logging.Filter):
    """Drops a logger's records below WARNING, and those whose message matches ``pattern``.
    A filter on the logger itself, so it survives MLflow's and Hydra's ``dictConfig``
    (which reset the levels of existing loggers, not their filters)."""

    def __init__(self, pattern: re.Pattern | None):
        super().__init__()
        self.pattern = pattern

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return False
        return self.pattern is None or not self.pattern.search(record.getMessage())


def quiet_loggers() -> None:
    """Filter the library loggers that talk at start-up (no-op with ``SEQEXP_DEBUG``)."""
    if debug():
        return
    for name, pattern in _QUIET_LOGGERS.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _Drop) for f in logger.filters):
            logger.addFilter(_Drop(pattern))


def quiet() -> None:
    """What every console command sets first: TensorFlow's Python-side INFO off, the library
    loggers filtered (no-op with ``SEQEXP_DEBUG``)."""
    if not debug():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    quiet_loggers()


def setup() -> None:
    """Everything the ``seqexp`` command sets before Hydra starts."""
    quiet()
    fast_help()


def console_level() -> str:
    """The level of Hydra's console log handler (``hydra.job_logging``): seqexp's own INFO
    lines (``cache hit: ...``) go to the job's log file only, unless ``SEQEXP_DEBUG``."""
    return "INFO" if debug() else "WARNING"


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser whose usage error is one line, ``prog: error: ...``, exit code 2
    (the usage block is what ``prog --help`` prints)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


@contextlib.contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """Capture file descriptor 2 (what C/C++ code writes, not only Python's ``sys.stderr``)
    for the duration, then write back every line that is not TensorFlow's start-up chatter."""
    if debug():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode(errors="replace")
            kept = [line for line in text.splitlines(keepends=True)
                    if not _NATIVE_NOISE.match(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def load_backend() -> None:
    """Import Keras (and TensorFlow, with its first device listing, where it is the backend)
    with TensorFlow's native start-up lines filtered out (and the library loggers quieted:
    a launcher's worker process runs jobs without going through ``seqexp``'s main)."""
    quiet_loggers()
    with native_stderr_filtered(), without_module("sklearn"):
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")  # the CUDA probe (cuInit) happens here


@contextlib.contextmanager
def without_module(name: str) -> Iterator[None]:
    """``import name`` raises ImportError inside (as if it were not installed), unless it is
    imported already. Keras imports scikit-learn at start-up only for ``keras.wrappers``
    (its scikit-learn estimators, which seqexp does not use; MLflow installs scikit-learn):
    about 1.2 s of every job's start on a 2-core CPU. ``keras.wrappers`` then says scikit-learn
    is missing in that process; ``import sklearn`` itself works again afterwards."""
    if name in sys.modules:
        yield
        return
    sys.modules[name] = None
    try:
        yield
    finally:
        if name in sys.modules and sys.modules[name] is None:
            del sys.modules[name]


def fast_help() -> None:
    """Compute the fields of Hydra's help template only when the template uses them."""
    import string

    from hydra._internal.hydra import Hydra
    from omegaconf import OmegaConf

    if getattr(Hydra.get_help, "_seqexp_lazy", False):
        return

    def get_help(self, help_cfg, cfg, args_parser, resolve: bool) -> str:
        def is_hydra_group(name: str) -> bool:
            return name.startswith("hydra/") or name == "hydra"

        fields = {
            "FLAGS_HELP": lambda: self.format_args_help(args_parser),
            "HYDRA_CONFIG_GROUPS": lambda: self.format_config_groups(is_hydra_group),
            "APP_CONFIG_GROUPS": lambda: self.format_config_groups(
                lambda name: not is_hydra_group(name)),
            "CONFIG": lambda: OmegaConf.to_yaml(cfg, resolve=resolve),
        }
        return string.Template(help_cfg.template).substitute(_Lazy(fields))

    get_help._seqexp_lazy = True
    Hydra.get_help = get_help


class _Lazy(dict):
    """A template mapping whose values are computed on first use."""

    def __init__(self, makers: dict):
        super().__init__()
        self.makers = makers

    def __missing__(self, key: str) -> str:
        value = self[key] = self.makers[key]()
        return value
