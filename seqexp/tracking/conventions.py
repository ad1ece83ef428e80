"""MLflow's UI conventions: what its UI fills its columns from. Besides the description
(:meth:`seqexp.tracking.run.Run.set_description`): source and user tags, the dataset as a run
input (Dataset column), a logged model (Models column, ``mlflow.pyfunc.load_model``, the
registry), and system metrics (``system/...`` charts)."""

from __future__ import annotations

import contextlib
import io
import os
import types
from collections.abc import Mapping
from typing import Any

from seqexp.tracking.run import Run


def applicable_params(params: Mapping[str, str]) -> dict[str, str]:
    """The params that say something about the run: no ``None`` fields, and no download
    address or checksum where a local file (``...path``) was given instead."""
    local = {key.removesuffix("path") for key, value in params.items()
             if key.endswith("path") and value not in ("None", "")}
    superseded = {f"{prefix}{what}" for prefix in local for what in ("url", "sha256")}
    return {key: value for key, value in params.items()
            if value != "None" and key not in superseded}


def context_tags() -> dict[str, str]:
    """MLflow's own user and source tags (``mlflow.user``, ``mlflow.source.name`` and
    ``.type``), as the fluent API would set them."""
    from mlflow.tracking.context.registry import resolve_tags

    keep = ("mlflow.user", "mlflow.source.name", "mlflow.source.type")
    return {key: value for key, value in resolve_tags().items() if key in keep}


def log_dataset(run: Run, name: str, source: str, sha256: str | None, url: str | None = None,
                profile: Mapping[str, Any] | None = None) -> None:
    """The dataset as the run's input: name, digest (its sha256's first 8 hex digits) and
    source (the download address, else the local file), so MLflow's Dataset column shows it."""
    import json

    from mlflow.entities import Dataset, DatasetInput, InputTag

    # the source as MLflow's own HTTPDatasetSource / LocalArtifactDatasetSource write it
    source_type, where = ("http", {"url": url}) if url else ("local", {"uri": str(source)})
    entity = Dataset(name=name, digest=str(sha256 or "unknown")[:8],
                     source_type=source_type, source=json.dumps(where),
                     profile=json.dumps(dict(profile), default=str) if profile else None)
    run.client.log_inputs(run.id, datasets=[
        DatasetInput(entity, tags=[InputTag("mlflow.data.context", "training")])])


def log_keras_model(run: Run, model, example) -> None:
    """The trained model as an MLflow model (Keras flavor) with its signature and an input
    example, linked to the run: the Models column, ``mlflow.pyfunc.load_model(
    "runs:/<id>/model")`` and the model registry work with it. Requirements are given (the
    installed keras and backend) rather than inferred, which would reload the model in a
    subprocess."""
    import importlib.metadata

    import keras
    import mlflow
    import mlflow.keras
    from mlflow.models import Model, infer_signature

    backend = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(
        keras.backend.backend())
    requirements = [f"keras=={keras.__version__}"]
    if backend:
        try:
            requirements.append(f"{backend}=={importlib.metadata.version(backend)}")
        except importlib.metadata.PackageNotFoundError:  # tensorflow-cpu and the like
            requirements.append(backend)
    signature = infer_signature(example, output_example(model, example))
    # the logged model belongs to the run's experiment (Model.log alone would file it under
    # the fluent API's active experiment, "Default")
    experiment = run.client.get_run(run.id).info.experiment_id
    logged = run.client.create_logged_model(experiment, name="model", source_run_id=run.id,
                                            model_type="keras")
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(run.client.tracking_uri)  # Model.log uploads through the fluent API
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Keras's predict progress bars
            Model.log(artifact_path=None, name="model", flavor=_KERAS_FLAVOR, model=model,
                      signature=signature, input_example=example,
                      pip_requirements=requirements, run_id=run.id, model_id=logged.model_id,
                      validate_serving_input=False)
    finally:
        mlflow.set_tracking_uri(previous)


def output_example(model, example):
    """What the model outputs for ``example``, as far as a signature needs it: zeros of the
    shape and dtype of its symbolic output, without a forward pass (an eager pass of a
    recurrent model over two rows took over a second on the CPU, one step per time step).
    A model without a single symbolic output of fixed shape (a subclassed one) is called once:
    a direct call, not predict(), so no predict function is traced for two rows."""
    import keras
    import numpy as np

    try:
        outputs = list(model.outputs or [])
    except (AttributeError, ValueError):  # not a functional or sequential model, or unbuilt
        outputs = []
    if len(outputs) == 1 and None not in tuple(outputs[0].shape)[1:]:
        rows = len(keras.tree.flatten(example)[0])
        return np.zeros((rows, *tuple(outputs[0].shape)[1:]), dtype=outputs[0].dtype)
    return keras.ops.convert_to_numpy(model(example, training=False))


def _save_keras_model(path: str, validate_serving_input: bool = True, **kwargs: Any) -> None:
    # mlflow.keras.save_model (3.17) writes the input example before it creates ``path``;
    # ``validate_serving_input`` is Model.log's (reload and predict the example), not the flavor's
    os.makedirs(path, exist_ok=True)
    import mlflow.keras

    mlflow.keras.save_model(path=path, **kwargs)


_KERAS_FLAVOR = types.SimpleNamespace(__name__="mlflow.keras", save_model=_save_keras_model)


def monitor_system(run: Run, interval: float = 5.0):
    """MLflow's system-metrics monitor on ``run`` (CPU, memory, disk, network; GPU with
    ``nvidia-ml-py``), started; ``.finish()`` it before the run ends. None without psutil."""
    try:
        import psutil  # noqa: F401  (MLflow's monitors need it)
        from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor
    except ImportError:
        return None
    monitor = SystemMetricsMonitor(run.id, sampling_interval=interval,
                                   resume_logging=run.resumed,
                                   tracking_uri=run.client.tracking_uri)
    monitor.start()
    return monitor
