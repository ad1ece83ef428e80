"""Nearest neighbours in an embedding, and TensorBoard-projector files (DLwP 6.1.2-6.1.3).

For runs whose encoder is ``embedding`` or ``glove``: the nearest tokens by cosine similarity
of each probe word (``encoder.probe_words``; ``encoder.neighbours`` of them) in the embedding
before training (random for a learned embedding, the pretrained vectors for GloVe) and after
it, logged as ``neighbours/neighbours.md`` and ``neighbours/neighbours.json``; and the trained
vectors as ``projector/vectors.tsv`` + ``projector/metadata.tsv`` (one token per row, in the
same order), which https://projector.tensorflow.org loads as they are. Padding, the unknown
token and all-zero rows (words missing from GloVe) are left out of both. Probe words not in
the vocabulary are listed as such; on a character run whose probes are all missing, the
first characters of the alphabet that are letters are probed instead.
"""

from __future__ import annotations

import json

import numpy as np

from seqexp.data.imdb import SPECIAL_TOKENS

FALLBACK_PROBES = 6


def usable(matrix: np.ndarray, vocabulary: list[str]) -> np.ndarray:
    """Rows that are real tokens with a non-zero vector."""
    norms = np.linalg.norm(matrix, axis=1)
    return np.array([w not in SPECIAL_TOKENS for w in vocabulary]) & (norms > 0)


def nearest(matrix: np.ndarray, vocabulary: list[str], probes: list[str], k: int,
            ) -> dict[str, list[tuple[str, float]] | None]:
    """The ``k`` nearest tokens (cosine) of each probe; None for a probe not in the
    vocabulary (or with a zero vector)."""
    keep = usable(matrix, vocabulary)
    rows = np.flatnonzero(keep)
    unit = matrix[rows] / np.linalg.norm(matrix[rows], axis=1, keepdims=True)
    where = {vocabulary[r]: i for i, r in enumerate(rows)}
    out: dict[str, list[tuple[str, float]] | None] = {}
    for probe in probes:
        i = where.get(probe)
        if i is None:
            out[probe] = None
            continue
        sims = unit @ unit[i]
        sims[i] = -np.inf
        top = np.argsort(-sims, kind="stable")[:k]
        out[probe] = [(vocabulary[rows[j]], round(float(sims[j]), 4)) for j in top]
    return out


def choose_probes(probes: list[str], vocabulary: list[str]) -> list[str]:
    """The configured probes, or (none in the vocabulary) a few letters of it."""
    if any(p in vocabulary for p in probes):
        return list(probes)
    letters = [w for w in vocabulary if w.isalpha()]
    return letters[:FALLBACK_PROBES]


def report(before: dict, after: dict, title: str) -> tuple[str, str]:
    """``neighbours.md`` and ``neighbours.json`` texts."""
    lines = [f"# {title}", "", "| probe | before training | after training |", "|---|---|---|"]

    def show(token: str) -> str:  # characters quoted (a space must show), words as they are
        return repr(token) if len(token) == 1 or not token.strip() else token

    def cell(found) -> str:
        if found is None:
            return "(not in the vocabulary)"
        return ", ".join(f"{show(w)} {s:.2f}" for w, s in found).replace("|", "\\|")

    for probe in before:
        lines.append(f"| {show(probe)} | {cell(before[probe])} | {cell(after[probe])} |")
    as_json = {probe: {"before": before[probe], "after": after[probe]} for probe in before}
    return "\n".join(lines) + "\n", json.dumps(as_json, indent=1, ensure_ascii=False)


def projector_tsv(matrix: np.ndarray, vocabulary: list[str]) -> tuple[str, str]:
    """``vectors.tsv`` and ``metadata.tsv`` texts (one token per line, no header: the
    projector's format for single-column metadata)."""
    rows = np.flatnonzero(usable(matrix, vocabulary))
    vectors = "\n".join("\t".join(f"{v:.5g}" for v in matrix[r]) for r in rows) + "\n"
    names = [vocabulary[r] for r in rows]
    metadata = "\n".join(json.dumps(n)[1:-1] if not n.strip() or "\t" in n or "\\" in n else n
                         for n in names) + "\n"
    return vectors, metadata


def embedding_matrix(model, names=("embedding", "glove")) -> np.ndarray | None:
    """The weights of the model's Embedding layer named ``embedding`` or ``glove``."""
    for layer in model.layers:
        if layer.name in names:
            return np.asarray(layer.get_weights()[0])
    return None


def before_training(model, encoded, cfg) -> dict | None:
    """The probes' neighbours in the untrained embedding, or None when the run has no
    embedding to probe (another encoder, ``encoder.neighbours=0``, no vocabulary)."""
    k = cfg.get("neighbours", 0)
    matrix = embedding_matrix(model)
    if not k or matrix is None or not encoded.vocabulary:
        return None
    probes = choose_probes(list(cfg.probe_words), encoded.vocabulary)
    return nearest(matrix, encoded.vocabulary, probes, k)


def log_after_training(run, model, encoded, cfg, before: dict | None) -> None:
    """Log the neighbours before/after and the projector TSVs (see the module doc)."""
    if before is None:
        return
    matrix = embedding_matrix(model)
    after = nearest(matrix, encoded.vocabulary, list(before), cfg.neighbours)
    md, js = report(before, after, f"Nearest neighbours (cosine) in the {cfg.name} layer")
    run.log_text(md, "neighbours/neighbours.md")
    run.log_text(js, "neighbours/neighbours.json")
    vectors, metadata = projector_tsv(matrix, encoded.vocabulary)
    run.log_text(vectors, "projector/vectors.tsv")
    run.log_text(metadata, "projector/metadata.tsv")
