"""The MLflow store: which URI a job uses, a client on it (a fresh sqlite store created under a
file lock), the experiment, a fast check that an HTTP server answers, and what a store that
went away raises."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import DictConfig

from seqexp.errors import SeqexpError
from seqexp.files import file_lock


def tracking_uri(cfg: DictConfig) -> str | None:
    """``tracking.uri``, else ``MLFLOW_TRACKING_URI``, else None (MLflow's default store)."""
    return given_uri(cfg.tracking.uri)


def given_uri(uri: str | None) -> str | None:
    """``uri``, else ``MLFLOW_TRACKING_URI``, else None."""
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or None


def default_uri(uri: str | None = None) -> str:
    """:func:`given_uri`, else MLflow's default store (``mlflow.db`` in the working
    directory), as an absolute URI, without importing MLflow."""
    return given_uri(uri) or f"sqlite:///{Path('mlflow.db').resolve()}"


_READY_STORES: set[str] = set()


def resolved_uri(uri: str | None) -> str:
    """``uri``, or MLflow's default, with a relative sqlite path made absolute."""
    import mlflow

    resolved = uri or mlflow.get_tracking_uri()
    if resolved.startswith("sqlite:///") and not resolved.startswith("sqlite:////"):
        resolved = f"sqlite:///{Path(resolved[len('sqlite:///'):]).resolve()}"
    return resolved


def client_for(uri: str | None):
    """A client of ``uri``; a sqlite store is created or upgraded under a file lock beside
    it, once, so processes opening a fresh store at the same moment never race in MLflow's
    schema migration."""
    import mlflow
    from mlflow.tracking import MlflowClient

    resolved = uri or mlflow.get_tracking_uri()
    try:
        if not resolved.startswith("sqlite:///") or resolved in _READY_STORES:
            return MlflowClient(tracking_uri=uri)
        db = Path(resolved[len("sqlite:///"):].split("?")[0])
        db.parent.mkdir(parents=True, exist_ok=True)
        with file_lock(db.with_name(db.name + ".lock")):
            client = MlflowClient(tracking_uri=uri)  # opens the store: creates or upgrades it
    except Exception as err:  # MLflow's or SQLAlchemy's: a file that is not a store, ...
        raise unopenable(uri, err) from None
    _READY_STORES.add(resolved)
    return client


def unopenable(uri: str | None, err: BaseException) -> SeqexpError:
    """The one line for a store a job cannot open or create a run in."""
    return SeqexpError(f"cannot open the MLflow store {uri or '(default)'}: "
                       f"{first_line(err)[:200]}; check tracking.uri / MLFLOW_TRACKING_URI")


def existing_store(uri: str | None) -> str:
    """The resolved ``uri`` of a store a reader opens: a sqlite file that is not there is an
    error, not a new empty store left behind."""
    resolved = resolved_uri(given_uri(uri))
    if resolved.startswith("sqlite:///") and not Path(resolved.removeprefix("sqlite:///")
                                                       .split("?")[0]).is_file():
        raise SeqexpError(f"no MLflow store at {resolved}: no such file; pass --uri or set "
                          "MLFLOW_TRACKING_URI")
    return resolved


def experiment_id(client, name: str) -> str:
    """Get or create the experiment; safe when parallel jobs race to create it."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name)
    except MlflowException:
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def check_reachable(uri: str | None) -> None:
    """Fail in one line, within seconds, when an HTTP tracking server does not answer
    (MLflow's own client would retry for minutes)."""
    if not uri or not uri.startswith(("http://", "https://")):
        return
    import requests

    try:
        requests.get(uri.rstrip("/") + "/health", timeout=5).raise_for_status()
    except requests.RequestException as err:
        raise SeqexpError(f"the MLflow tracking server {uri} is unreachable "
                          f"({type(err).__name__}); start it or fix tracking.uri / "
                          "MLFLOW_TRACKING_URI") from None


# MLflow retries a failed HTTP request for minutes by default (7 retries, backoff 2, 120 s
# timeout): during training a store that went away would stall every epoch end.
HTTP_RETRIES = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
                "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


class StoreAway(Exception):
    """The MLflow store could not be reached (the reason is the message)."""


def store_errors() -> tuple[type[BaseException], ...]:
    """What a store that went away raises (server down, sqlite locked, network)."""
    import requests
    from mlflow.exceptions import MlflowException

    errors: list[type[BaseException]] = [MlflowException, requests.RequestException, OSError,
                                         StoreAway]
    try:
        from sqlalchemy.exc import SQLAlchemyError

        errors.append(SQLAlchemyError)
    except ImportError:
        pass
    return tuple(errors)


def unreadable(uri: str | None, err: BaseException) -> SeqexpError:
    """The one line for a store that cannot be read (unreachable server, unknown run id, a
    file that is not a store): the error's first line."""
    return SeqexpError(f"cannot read the MLflow store {uri or '(default)'}: "
                       f"{first_line(err)[:300]}")


def first_line(err: BaseException) -> str:
    """An error's first line, or its type's name when it has no message."""
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def short(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:160]}" if text else type(err).__name__
