"""One job, start to end: dataset -> encoder -> model -> train -> evaluate, tracked in MLflow."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from seqexp import data, encoders, evaluate, generate, models, neighbours, tracking, train
from seqexp.backup import Backup
from seqexp.data import Task
from seqexp.encoders import Batching


def output_dir() -> Path:
    """Hydra's run directory for this job, or the working directory outside Hydra."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return Path(HydraConfig.get().runtime.output_dir)
    except ValueError:
        return Path.cwd()


def learning_curves(history: dict[str, list[float]], naive: dict[str, float], task: Task):
    """Training and validation metric per epoch, with the validation baseline as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metric = task.keras_metric
    fig, ax = plt.subplots(figsize=(7, 4))
    epochs = range(1, len(history[metric]) + 1)
    ax.plot(epochs, history[metric], "o-", label=f"training {metric}")
    ax.plot(epochs, history[f"val_{metric}"], "s-", label=f"validation {metric}")
    name = f"naive_val_{task.metric}"  # in the metric's own scale, not the unit variant
    ax.axhline(naive[name], color="grey", linestyle="--", label=f"baseline ({name})")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.legend()
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


def run_job(cfg: DictConfig) -> float:
    """Run the job ``cfg`` describes (already validated); return the best validation metric."""
    import keras

    if cfg.trainer.get("resume"):
        cfg = tracking.recorded_config(cfg)
    share_gpus()
    keras.utils.set_random_seed(cfg.trainer.seed)
    keras.backend.clear_session()
    with tracking.open_run(cfg) as run:
        run.set_tags({"keras_backend": keras.backend.backend(), "device": tracking.device()})
        splits = data.load(cfg.dataset)
        task = splits.task
        run.set_tags({"data.source": splits.info.source,
                      "data.sha256": splits.info.sha256, "task": task.name})
        encoded = encoders.encode(splits, cfg.encoder, Batching(
            cfg.trainer.batch_size, cfg.trainer.seed, cfg.trainer.steps_per_epoch,
            shuffle=cfg.dataset.get("shuffle", True)))
        if encoded.params:
            run.log_params({f"encoded.{k}": v for k, v in encoded.params.items()})
        naive = evaluate.baseline(splits, "val")
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
        callbacks, sampler = [], None
        if task.name == "next-char":  # samples of text during training (book 8.1)
            alphabet, maxlen = splits.info.alphabet, encoded.spec.shape[0]
            seed_text = generate.seed_text_for(splits, cfg.generate)
            run.log_text(generate.generation_meta(alphabet, maxlen, seed_text, cfg.dataset.lower),
                         generate.META)
            sampler = generate.Sampler(run, alphabet, maxlen, seed_text, cfg.generate)
            callbacks.append(sampler.callback())
        backup = Backup(folder / "backup")
        train.fit(model, encoded, task, cfg.trainer, backup, checkpoint,
                  on_epoch=lambda record: run.log_epochs(backup.journal()), callbacks=callbacks)
        if sampler is not None:
            sampler.log_best(model)
        neighbours.log_after_training(run, model, encoded, cfg.encoder, probed)
        # The run's per-epoch record is its backup's journal: every epoch, across resumes.
        history = backup.history(["loss", task.keras_metric, task.history])
        epoch, best = evaluate.best_epoch(history, splits)
        results = {**evaluate.scored(splits, "val", best, naive, prefix="best_"),
                   "best_epoch": epoch, "epochs_run": len(history[task.history])}
        if cfg.trainer.evaluate_test:
            naive_test = evaluate.baseline(splits, "test")
            score = train.evaluate(model, encoded.test, task)
            results.update(naive_test)
            results.update(evaluate.scored(splits, "test", score, naive_test, prefix=""))
        # kept in the run's folder, then logged with the best weights (they wait there
        # while the store is away)
        run.finish(results, learning_curves(history, naive, task))
        print(summary_line(results, naive, task.metric))
        return best


def summary_line(results: dict[str, float], naive: dict[str, float], metric: str) -> str:
    best = results[f"best_val_{metric}"]
    return (f"best val {metric} {best:.4f} vs naive baseline {naive[f'naive_val_{metric}']:.4f}"
            f" (skill {results['val_skill']:+.3f}, epoch {results['best_epoch'] + 1} of "
            f"{results['epochs_run']})")
