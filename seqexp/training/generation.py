"""Text generation from a next-character model (DLwP 1st ed. listings 8.6-8.7), during
training and afterwards from a finished run (``seqexp-generate``).

From a seed of ``maxlen`` characters the model predicts a distribution over the alphabet; the
distribution is reweighted by a temperature (listing 8.6's ``sample``: low temperatures pick
the likeliest characters, high ones explore), a character is drawn, appended, and the window
slides on. Every temperature is one row of the same batch, so one model call per character
serves them all. Draws come from a seeded numpy generator: the same model, seed text and seed
give the same text. The unknown-character id 0 is never drawn.

During training (:class:`Sampler`) the samples of every ``generate.every``-th epoch and
those of the best weights at the end are logged as text artifacts ``samples/epoch_NNN.txt``
and ``samples/best.txt``; ``generation.json`` records the alphabet, ``maxlen`` and the seed
text so that ``seqexp-generate`` (:func:`from_run`) can rebuild the model from
``config.yaml`` and ``best.weights.h5``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from seqexp import console
from seqexp.errors import SeqexpError

META = "generation.json"
WEIGHTS = "best.weights.h5"


def reweight(probs: np.ndarray, temperature) -> np.ndarray:
    """Listing 8.6: ``exp(log(p) / T)`` renormalized, row by row (``T``: a number, or one per
    row as a ``(rows, 1)`` array)."""
    logits = np.log(np.maximum(probs.astype(np.float64), 1e-30)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    out = np.exp(logits)
    return out / out.sum(axis=-1, keepdims=True)


def seed_ids(text: str, alphabet: list[str], maxlen: int) -> np.ndarray:
    """The last ``maxlen`` characters of ``text`` as ids, left-padded with spaces (or the
    unknown id) when shorter. A character outside the alphabet is refused."""
    index = {c: i for i, c in enumerate(alphabet) if c}
    unknown = sorted({c for c in text if c not in index})
    if unknown:
        shown = ", ".join(repr(c) for c in unknown[:10])
        raise SeqexpError(f"the seed text has characters outside the model's alphabet ({shown}):"
                          f" use only these {len(index)} characters: "
                          f"{''.join(sorted(index))!r}")
    ids = [index[c] for c in text[-maxlen:]]
    pad = index.get(" ", 0)
    return np.array([pad] * (maxlen - len(ids)) + ids, dtype=np.int32)


def sample(model, alphabet: list[str], seed: np.ndarray, temperatures: list[float],
           length: int, rng: np.random.Generator) -> list[str]:
    """``length`` characters after ``seed`` (ids) at each temperature."""
    windows = np.repeat(seed[None, :], len(temperatures), axis=0)
    temps = np.asarray(temperatures, dtype=np.float64)[:, None]
    out = np.zeros((len(temperatures), length), dtype=np.int64)
    for step in range(length):
        probs = np.asarray(model.predict_on_batch(windows), dtype=np.float64)
        probs[:, 0] = 0.0  # never draw "unknown"
        cdf = np.cumsum(reweight(probs, temps), axis=1)
        drawn = np.minimum((cdf < rng.random((len(temps), 1))).sum(axis=1), len(alphabet) - 1)
        out[:, step] = drawn
        windows = np.concatenate([windows[:, 1:], drawn[:, None].astype(np.int32)], axis=1)
    return ["".join(alphabet[i] for i in row) for row in out]


def format_samples(title: str, seed_text: str, temperatures: list[float],
                   texts: list[str]) -> str:
    lines = [title, f"seed: {seed_text!r}", ""]
    for temperature, text in zip(temperatures, texts):
        lines += [f"--- temperature {temperature} ---", seed_text + text, ""]
    return "\n".join(lines)


def seed_text_for(splits, cfg) -> str:
    """``generate.seed_text``, else a validation window drawn with ``generate.seed``."""
    if cfg.seed_text:
        return str(cfg.seed_text)
    val = splits.val
    start = int(np.random.default_rng(cfg.seed).choice(val.starts))
    alphabet = splits.info.alphabet
    return "".join(alphabet[i] for i in val.ids[start:start + val.maxlen])


class Sampler:
    """Samples of one run, logged as ``samples/<name>`` (see the module doc)."""

    def __init__(self, run, alphabet: list[str], maxlen: int, seed_text: str, cfg):
        self.run, self.alphabet, self.seed_text, self.cfg = run, alphabet, seed_text, cfg
        self.ids = seed_ids(seed_text, alphabet, maxlen)
        self.temperatures = [float(t) for t in cfg.temperatures]

    def log(self, model, name: str, title: str, epoch: int) -> None:
        rng = np.random.default_rng([self.cfg.seed, epoch])
        texts = sample(model, self.alphabet, self.ids, self.temperatures, self.cfg.length, rng)
        self.run.log_text(format_samples(title, self.seed_text, self.temperatures, texts),
                          f"samples/{name}")

    def log_best(self, model) -> None:
        self.log(model, "best.txt", "with the best weights", 0)

    def callback(self):
        """A Keras callback logging samples after every ``generate.every``-th epoch."""
        import keras

        sampler, every = self, self.cfg.every

        class SampleCallback(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if every and (epoch + 1) % every == 0:
                    sampler.log(self.model, f"epoch_{epoch + 1:03d}.txt",
                                f"after epoch {epoch + 1}", epoch + 1)

        return SampleCallback()


def generation_meta(alphabet: list[str], maxlen: int, seed_text: str, lower: bool) -> str:
    return json.dumps({"alphabet": alphabet, "maxlen": maxlen, "seed_text": seed_text,
                       "lower": lower}, ensure_ascii=False)


# --------------------------------------------------------------------------- after training


def load_run_model(client, run_id: str):
    """A finished run's model with its best weights, its alphabet and its recorded meta."""
    from mlflow.exceptions import MlflowException
    from omegaconf import OmegaConf

    from seqexp.tasks.next_char import NEXT_CHAR

    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise SeqexpError(f"no run {run_id} in this MLflow store: give the id of a finished "
                          "dataset=text run (see mlflow ui or seqexp-report), or --uri") from None
    task = run.data.tags.get("task")
    if task != NEXT_CHAR.name:
        raise SeqexpError(f"run {run_id} is not a text generation run (task {task}): give the "
                          "id of a dataset=text run")
    console.load_backend()  # Keras (and TensorFlow), its native start-up lines filtered
    from seqexp import models
    from seqexp.encoders import InputSpec
    from seqexp.encoders.chars import char_layers

    folder = Path(tempfile.mkdtemp(prefix="seqexp-generate-"))
    try:
        paths = {name: client.download_artifacts(run_id, name, str(folder))
                 for name in ("config.yaml", META, WEIGHTS)}
    except (MlflowException, OSError):
        raise SeqexpError(f"run {run_id} has no {WEIGHTS} or {META} (did it finish?): give "
                          "the id of a FINISHED dataset=text run") from None
    cfg = OmegaConf.load(paths["config.yaml"])
    meta = json.loads(Path(paths[META]).read_text(encoding="utf-8"))
    alphabet, maxlen = meta["alphabet"], int(meta["maxlen"])
    spec = InputSpec(shape=(maxlen,), dtype="int32", layout="sequence", vocab_size=len(alphabet))
    model = models.build(spec, char_layers(cfg.encoder, len(alphabet)), cfg.model,
                         NEXT_CHAR.with_outputs(len(alphabet)))
    model.load_weights(paths[WEIGHTS])
    return model, meta


def from_run(uri: str | None, run_id: str, seed_text: str | None, temperatures: list[float],
             length: int, random_seed: int) -> str:
    """``seqexp-generate``: ``length`` characters at each temperature from run ``run_id``'s
    model, after ``seed_text`` (None: the seed the run sampled from)."""
    if length < 1 or any(t <= 0 for t in temperatures):
        raise SeqexpError("--length must be >= 1 and every --temperatures value > 0")
    from seqexp.tracking.store import client_for, existing_store

    client = client_for(existing_store(uri))
    model, meta = load_run_model(client, run_id)
    seed_text = meta["seed_text"] if seed_text is None else seed_text
    if meta.get("lower"):  # the model was trained on lower-cased text
        seed_text = seed_text.lower()
    ids = seed_ids(seed_text, meta["alphabet"], meta["maxlen"])
    texts = sample(model, meta["alphabet"], ids, temperatures, length,
                   np.random.default_rng(random_seed))
    return format_samples(f"run {run_id}", seed_text, temperatures, texts)
