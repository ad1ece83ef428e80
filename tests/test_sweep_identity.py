"""Job and sweep identity: the digests a resumed sweep matches its jobs and itself by."""

from __future__ import annotations

from omegaconf import OmegaConf, open_dict

from seqexp.tracking import identity
from tests.conftest import compose_cfg


def test_a_job_is_its_composed_config_seed_included():
    base = identity.job_digest(compose_cfg("model=gru", "trainer.epochs=3"))
    assert base == identity.job_digest(compose_cfg("trainer.epochs=3", "model=gru"))
    assert base != identity.job_digest(compose_cfg("model=gru", "trainer.epochs=3",
                                                   "trainer.seed=1"))
    assert base != identity.job_digest(compose_cfg("model=gru", "trainer.epochs=4"))
    assert base != identity.job_digest(compose_cfg("model=gru", "trainer.epochs=3",
                                                   "model.units=8"))


def test_where_a_job_is_recorded_is_not_its_identity():
    base = identity.job_digest(compose_cfg("model=gru", validate=False))
    for other in ("tracking.uri=sqlite:///elsewhere.db", "tracking.experiment=x",
                  "trainer.verbose=0", "trainer.resume=abc", "sweep.resume=last",
                  "sweep.trial=3", "trainer.checkpoint_dir=/tmp/c"):
        assert identity.job_digest(compose_cfg("model=gru", other, validate=False)) == base, other


def test_a_resumed_runs_recorded_config_has_the_same_digest():
    """trainer.resume continues a run from its config.yaml (resolved) merged with this
    invocation's tracking settings: still the same job."""
    cfg = compose_cfg("model=gru", "trainer.epochs=3")
    recorded = OmegaConf.create(OmegaConf.to_yaml(OmegaConf.to_container(cfg, resolve=True)))
    resumed = OmegaConf.merge(recorded, {"tracking": {"uri": "sqlite:///x.db"},
                                         "trainer": {"resume": "abc"}})
    assert identity.job_digest(resumed) == identity.job_digest(cfg)


def _multirun_cfg(*overrides: str):
    cfg = compose_cfg(*[o for o in overrides if "," not in o], validate=False)
    full = OmegaConf.create({"hydra": {"overrides": {"task": list(overrides)},
                                       "sweeper": {"params": None}}})
    with open_dict(cfg):
        merged = OmegaConf.merge(cfg, full)
    return merged


def test_sweep_spec_names_the_keys_that_differ():
    recorded = identity.sweep_spec(_multirun_cfg("model=gru,dense", "trainer.seed=0,1",
                                                 "trainer.epochs=3"))
    same = identity.sweep_spec(_multirun_cfg("trainer.seed=0,1", "model=gru,dense",
                                             "trainer.epochs=3", "sweep.resume=last",
                                             "tracking.uri=sqlite:///m.db"))
    assert identity.differing_keys(recorded, same) == []
    assert identity.digest(recorded) == identity.digest(same)
    other = identity.sweep_spec(_multirun_cfg("model=gru,lstm", "trainer.seed=0,1",
                                              "trainer.epochs=4"))
    assert identity.differing_keys(recorded, other) == ["trainer.epochs", "model"]
