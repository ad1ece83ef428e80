"""One job, start to end: dataset -> encoder -> model -> train -> evaluate, tracked in MLflow."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from seqexp import data, encoders, models, progress, sweep_progress
from seqexp.encoders import Batching
from seqexp.tasks import Task
from seqexp.tracking import conventions, lifecycle, outage, provenance, store
from seqexp.training import generation, neighbours, train
from seqexp.training.backup import Backup


def output_dir() -> Path:
    """Hydra's run directory for this job, or the working directory outside Hydra."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return Path(HydraConfig.get().runtime.output_dir)
    except ValueError:
        return Path.cwd()


def learning_curves(history: dict[str, list[float]], naive: dict[str, float], task: Task,
                    title: str = "", unit: str | None = None, best_epoch: int | None = None):
    """Training and validation metric per epoch (1-based, integer ticks), the validation
    baseline as a line, the best epoch marked; the y axis says the metric's unit."""
    from matplotlib.figure import Figure  # not pyplot: no global backend, no open figure
    from matplotlib.ticker import MaxNLocator

    metric = task.keras_metric
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    epochs = range(1, len(history[metric]) + 1)
    ax.plot(epochs, history[metric], "o-", label=f"training {metric}")
    ax.plot(epochs, history[f"val_{metric}"], "s-", label=f"validation {metric}")
    name = f"naive_val_{task.metric}"  # in the metric's own scale, not the unit variant
    ax.axhline(naive[name], color="grey", linestyle="--", label=f"baseline ({name})")
    if best_epoch is not None:
        best = history[f"val_{metric}"][best_epoch - 1]
        ax.axvline(best_epoch, color="tab:green", linestyle=":", linewidth=1)
        ax.plot([best_epoch], [best], "*", color="tab:green", markersize=14,
                label=f"best epoch {best_epoch}: {best:.4f}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(unit or metric)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def model_summary(model) -> str:
    lines: list[str] = []
    model.summary(print_fn=lambda line, **_: lines.append(line), line_length=100)
    return "\n".join(lines)


def share_gpus() -> None:
    """Let parallel jobs share a GPU: TensorFlow takes memory as it needs it, not all of it."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialized by an earlier job in this process
            pass


@dataclass
class Outcome:
    """What a finished job hands back: its MLflow run, the best validation metric, the final
    scores (``best_val_*``, ``val_skill``, ``test_*``...), the baseline's, the per-epoch
    records (Keras's logs with the baseline and skill) and the model (best epoch's weights)."""

    run_id: str
    best: float
    results: dict[str, float]
    naive: dict[str, float]
    epochs: list[dict[str, float]]
    model: Any
    config: DictConfig


def run_job(cfg: DictConfig) -> float:
    """Run the job ``cfg`` describes (already validated); return the best validation metric
    (what a sweeper optimizes)."""
    return train_job(cfg).best


def train_job(cfg: DictConfig) -> Outcome:
    """Run the job ``cfg`` describes (already validated); return its :class:`Outcome`."""
    import keras

    if cfg.trainer.get("resume"):
        cfg = lifecycle.recorded_config(cfg)
    share_gpus()
    with progress.verbosity(cfg.trainer.verbose):  # the data stages' bars and lines follow it
        keras.utils.set_random_seed(cfg.trainer.seed)
        keras.backend.clear_session()
        with lifecycle.open_run(cfg) as run:
            run.set_tags({"device": lifecycle.device()})
            if not run.resumed:  # the code, packages and versions that recreate the run
                provenance.record(run, keras.backend.backend())
            splits = data.load(cfg.dataset)
            task = splits.task
            run.set_tags({"data.source": splits.info.source,
                          "data.sha256": splits.info.sha256, "task": task.name})
            log_dataset_input(run, cfg, splits)
            encoded = encoders.encode(splits, cfg.encoder, Batching(
                cfg.trainer.batch_size, cfg.trainer.seed, cfg.trainer.steps_per_epoch,
                shuffle=cfg.dataset.get("shuffle", True),
                eval_batch_size=train.eval_batch_size(cfg.trainer)))
            if encoded.params:
                run.log_params({f"encoded.{k}": v for k, v in encoded.params.items()})
            naive = task.baseline(splits, "val")
            run.log_metrics({**naive, **encoded.metrics, **(splits.info.cleaned or {})})

            from seqexp.models.recurrent import cudnn_eligibility

            train.set_precision(cfg.trainer.precision)
            model = models.build(encoded.spec, encoded.layers, cfg.model, task)
            run.set_tags(dict(zip(("cudnn", "cudnn.reason"), cudnn_eligibility(model),
                                  strict=True)))
            train.compile_model(model, task, cfg.trainer)
            if not run.resumed:
                run.log_text(model_summary(model), "model_summary.txt")
                run.log_params({"model.parameters": model.count_params()})

            folder = run.checkpoint_dir(output_dir() / cfg.trainer.checkpoint_dir)
            checkpoint = folder / "best.weights.h5"
            probed = neighbours.before_training(model, encoded, cfg.encoder)
            callbacks, sampler = [baseline_callback(task, naive)], None
            from seqexp.sweeps import pruning  # a trial of an Optuna search: reports, is pruned

            callbacks += [c for c in [pruning.callback(cfg, run, task.history)] if c is not None]
            if task.name == "next-char":  # samples of text during training (book 8.1)
                alphabet, maxlen = splits.info.alphabet, encoded.spec.shape[0]
                seed_text = generation.seed_text_for(splits, cfg.generate)
                run.log_text(generation.generation_meta(alphabet, maxlen, seed_text,
                                                        cfg.dataset.lower), generation.META)
                sampler = generation.Sampler(run, alphabet, maxlen, seed_text, cfg.generate)
                callbacks.append(sampler.callback())
            backup = Backup(folder / "backup")
            train.fit(model, encoded, task, cfg.trainer, backup, checkpoint,
                      on_epoch=lambda record: run.log_epochs(backup.journal()), callbacks=callbacks)
            if sampler is not None:
                sampler.log_best(model)
            neighbours.log_after_training(run, model, encoded, cfg.encoder, probed)
            # The run's per-epoch record is its backup's journal: every epoch, across resumes.
            history = backup.history(["loss", task.keras_metric, task.history])
            epoch, best = task.best_epoch(history)
            results = {**task.scored(splits, "val", best, naive, prefix="best_"),
                       "best_epoch": epoch + 1, "epochs_run": len(history[task.history])}
            if cfg.trainer.evaluate_test:
                naive_test = task.baseline(splits, "test")
                score = train.evaluate(model, encoded.test, task)
                results.update(naive_test)
                results.update(task.scored(splits, "test", score, naive_test, prefix=""))
            # kept in the run's folder, then logged with the best weights (they wait there
            # while the store is away)
            curves = learning_curves(history, naive, task, title=lifecycle.run_name(cfg),
                                     unit=task.axis, best_epoch=results["best_epoch"])
            run.finish(results, curves, description=describe(cfg, splits, results, naive))
            log_model(run, cfg, encoded, model)
            print(summary_line(results, naive, task.metric))
            sweep_progress.record_result(task.metric, results[f"best_val_{task.metric}"],
                                         naive[f"naive_val_{task.metric}"], results["val_skill"])
            return Outcome(run.id, best, results, naive, [r.metrics for r in backup.journal()],
                           model, cfg)


def summary_line(results: dict[str, float], naive: dict[str, float], metric: str) -> str:
    best = results[f"best_val_{metric}"]
    return (f"best val {metric} {best:.4f} vs naive baseline {naive[f'naive_val_{metric}']:.4f}"
            f" (skill {results['val_skill']:+.3f}, epoch {results['best_epoch']} of "
            f"{results['epochs_run']})")


# ---------------------------------------------------------------- what MLflow's UI shows

def baseline_callback(task, naive: dict[str, float]):
    """A Keras callback that adds the baseline and the skill to each epoch's logs
    (``naive_val_mae``, ``val_skill``), before the tracker logs them: MLflow's chart view then
    shows the validation curve crossing the baseline, and Keras prints the skill per epoch."""
    import keras

    baseline = naive[f"naive_val_{task.metric}"]

    class Baseline(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs is not None and task.history in logs:
                logs[f"naive_val_{task.metric}"] = baseline
                logs["val_skill"] = task.skill(logs[task.history], baseline)

    return Baseline()


def log_dataset_input(run, cfg: DictConfig, splits) -> None:
    """The dataset as the run's MLflow input (the UI's Dataset column)."""
    url = None if cfg.dataset.get("path") else cfg.dataset.get("url")
    sizes = {part: len(getattr(splits, part)[1]) if isinstance(getattr(splits, part), tuple)
             else len(getattr(splits, part)) for part in ("train", "val", "test")}
    conventions.log_dataset(run, cfg.dataset.name, splits.info.source, splits.info.sha256, url=url,
                         profile={**sizes, "rows": splits.info.rows})


def describe(cfg: DictConfig, splits, results: dict[str, float],
             naive: dict[str, float]) -> str:
    """The run's description (Markdown): its score against the baseline, the best epoch and
    where the data came from."""
    task = splits.task
    metric = task.metric
    best, base = results[f"best_val_{metric}"], naive[f"naive_val_{metric}"]
    unit = splits.info.unit
    in_units = (f" ({results[f'best_val_{metric}_{unit}']:.2f} vs "
                f"{naive[f'naive_val_{metric}_{unit}']:.2f} {unit})"
                if unit and f"best_val_{metric}_{unit}" in results else "")
    skill = results["val_skill"]
    verdict = "better than" if skill > 0 else "no better than"
    source = splits.info.source
    digest = str(splits.info.sha256 or "")[:12]
    lines = [
        # the first line is what the runs table shows: plain text
        f"{cfg.model.name} on {cfg.dataset.name}: best val {task.shown} {best:.4f} vs naive "
        f"baseline {base:.4f}{in_units}, skill {skill:+.3f} ({verdict} the baseline)",
        "",
        f"Best epoch {results['best_epoch']} of {results['epochs_run']}.",
        "",
        f"Data: `{cfg.dataset.name}` from `{source}`" + (f" (sha256 {digest}...)" if digest
                                                         else "") + ".",
    ]
    if "test_skill" in results:
        lines += ["", f"Test {metric} {results[f'test_{metric}']:.4f} vs baseline "
                      f"{results[f'naive_test_{metric}']:.4f}: skill "
                      f"{results['test_skill']:+.3f}."]
    return "\n".join(lines)


def log_model(run, cfg: DictConfig, encoded, model) -> None:
    """The model as an MLflow model (:func:`seqexp.tracking.conventions.log_keras_model`);
    while the store is away it waits in the run's folder with its input example, and
    seqexp-flush logs it."""
    if not cfg.tracking.get("log_model", True):
        return
    if hasattr(encoded.val, "dense_rows"):  # text batches (their bags maybe sparse)
        example = encoded.val.dense_rows(2)
    else:
        example = encoded.val[0][0][:2]
    if run.store_error is None:
        try:
            conventions.log_keras_model(run, model, example)
            return
        except store.store_errors() as err:
            run.store_error = store.short(err)
    outage.keep_model(run, model, example)  # seqexp-flush logs it
