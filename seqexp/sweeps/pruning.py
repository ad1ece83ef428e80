"""A trial's job reports to its Optuna study: a Keras callback that, after each epoch, reports
the validation score at that epoch and asks the study's pruner whether to go on. The step
is Keras's epoch index (0-based, as Optuna's own Keras integration reports it), so a pruner's
``n_warmup_steps=1`` spares each trial's first epoch.

The job finds its trial from ``sweep.trial`` (set by seqexp's Optuna sweeper) and the
storage URL, study name and pruner the sweeper put in its environment. A pruned job stops
training at that epoch's end (its epochs are logged and it is scored on its best epoch, as
any run), its MLflow run ends FINISHED with the tag ``optuna.state=PRUNED``, and the trial is
marked for the sweeper, which tells the study PRUNED.
"""

from __future__ import annotations

import json
import os

from omegaconf import DictConfig

STATE_TAG = "optuna.state"


def trial_of(cfg: DictConfig):
    """The job's Optuna trial (``optuna.trial.Trial``), or None outside a search."""
    from seqexp.sweeps.search import PRUNER_ENV, STORAGE_ENV, STUDY_ENV, instantiate_part

    number = cfg.get("sweep", {}).get("trial")
    if number is None or not os.environ.get(STORAGE_ENV):
        return None
    import optuna
    from omegaconf import OmegaConf

    from seqexp.sweeps.search import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = instantiate_part(OmegaConf.create(json.loads(os.environ[PRUNER_ENV])))
    storage = open_storage(os.environ[STORAGE_ENV])
    study = optuna.load_study(study_name=os.environ[STUDY_ENV], storage=storage, pruner=pruner)
    trial_id = storage.get_trial_id_from_study_id_trial_number(
        storage.get_study_id_from_name(os.environ[STUDY_ENV]), int(number))
    return optuna.trial.Trial(study, trial_id)


def callback(cfg: DictConfig, run, monitor: str):
    """The Keras callback reporting ``monitor`` (``val_mae``, ``val_acc``, ...) to the job's
    trial, or None outside a search."""
    trial = trial_of(cfg)
    if trial is None:
        return None
    import keras

    run.set_tags({"optuna.trial": trial.number, "optuna.study": trial.study.study_name})

    class ReportToStudy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if not logs or monitor not in logs:
                return
            trial.report(float(logs[monitor]), step=epoch)  # Keras's 0-based epoch index
            if trial.should_prune():
                trial.set_user_attr("seqexp.pruned", True)
                run.set_tags({STATE_TAG: "PRUNED"})
                print(f"seqexp: trial {trial.number} pruned after epoch {epoch + 1} "
                      f"({monitor} {logs[monitor]:.4f})")
                self.model.stop_training = True

    return ReportToStudy()
