"""What a job and a sweep are, as digests: a job is its composed config (seed included) less
the keys that only say where it is recorded or how it prints; a sweep is its task overrides,
its composed base config and its search space. Two invocations with the same digest are the
same work, so a resumed sweep can match jobs with the child runs that already did them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from omegaconf import DictConfig, OmegaConf

from seqexp.tracking.run import flatten  # a config as flat ``key: value`` text, as in params

JOB_TAG = "seqexp.job_digest"  # on every child run: which job it is
SWEEP_TAG = "seqexp.sweep_digest"  # on a sweep's parent run: which sweep it is
SPEC_ARTIFACT = "sweep.json"  # on a sweep's parent run: what the digest was made of

# Not part of a job's identity: where it is recorded, how it resumes, how it prints.
NOT_IDENTITY = ("tracking", "sweep", "book", "trainer.resume", "trainer.checkpoint_dir",
                "trainer.verbose", "trainer.workers")


def _kept(key: str, dropped: tuple[str, ...]) -> bool:
    return not any(key == d or key.startswith(f"{d}.") for d in dropped)


def job_config(cfg: DictConfig) -> dict[str, str]:
    """The job's identity as flat ``key: value`` pairs (interpolations resolved)."""
    body = {k: v for k, v in cfg.items() if k != "hydra"} if isinstance(cfg, Mapping) else cfg
    try:
        tree = OmegaConf.to_container(OmegaConf.create(body), resolve=True)
    except Exception:  # an interpolation that cannot resolve here: its text is the identity
        tree = OmegaConf.to_container(OmegaConf.create(body), resolve=False)
    return {k: v for k, v in flatten(tree).items() if _kept(k, NOT_IDENTITY)}


def digest(flat: Mapping[str, str]) -> str:
    text = json.dumps(dict(sorted(flat.items())), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def job_digest(cfg: DictConfig) -> str:
    return digest(job_config(cfg))


def sweep_spec(config: DictConfig) -> dict[str, str]:
    """A sweep's identity from the multirun's config: its task overrides (``key=value`` as
    parsed, those of keys outside a job's identity left out), the composed base config less the
    keys the overrides sweep over, and the sweeper's search space (``hydra.sweeper.params``).
    Launcher settings and ``n_trials`` are not part of it: a sweep may be continued on
    another launcher, or a search extended."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(list(config.hydra.overrides.task))
    spec: dict[str, str] = {}
    swept: list[str] = []
    for override in parsed:
        key = override.key_or_group
        if not _kept(key, NOT_IDENTITY):
            continue
        spec[f"overrides.{key}"] = override.input_line.split("=", 1)[1].replace(" ", "")
        if override.is_sweep_override():
            swept.append(key)
    params = OmegaConf.select(config, "hydra.sweeper.params", default=None) or {}
    for key, value in params.items():
        spec[f"search.{key}"] = str(value)
        swept.append(str(key))
    base = {k: v for k, v in config.items() if k != "hydra"}
    tree = OmegaConf.to_container(OmegaConf.create(base), resolve=False)
    for key, value in flatten(tree).items():
        if _kept(key, NOT_IDENTITY) and _kept(key, tuple(swept)):
            spec[f"config.{key}"] = value
    return spec


def differing_keys(recorded: Mapping[str, str], now: Mapping[str, str]) -> list[str]:
    """The keys (without their ``overrides.``/``config.``/``search.`` prefix) whose values
    differ between two sweep specs, each named once."""
    keys = [k for k in sorted(set(recorded) | set(now)) if recorded.get(k) != now.get(k)]
    return list(dict.fromkeys(k.split(".", 1)[1] for k in keys))
