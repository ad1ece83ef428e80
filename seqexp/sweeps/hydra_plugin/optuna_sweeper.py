"""The Hydra Sweeper plugin class and its configs in Hydra's ConfigStore: ``hydra/sweeper``
``optuna``, ``hydra/sweeper/sampler`` (tpe, random) and ``hydra/sweeper/pruner`` (none,
median, successive_halving, hyperband). Hydra instantiates only plugin classes defined under
``hydra_plugins``: this one hands everything to :class:`seqexp.sweeps.search.Search`."""

from __future__ import annotations

from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper
from omegaconf import DictConfig, OmegaConf

from seqexp.sweeps import schemas


class OptunaSweeper(Sweeper):
    def __init__(self, **config: Any) -> None:
        from seqexp.sweeps.search import Search

        self.search = Search(OmegaConf.create(config))

    def setup(self, *, hydra_context: Any, task_function: Any, config: DictConfig) -> None:
        self.search.setup(hydra_context=hydra_context, task_function=task_function,
                          config=config)

    def sweep(self, arguments: list[str]) -> Any:
        return self.search.sweep(arguments)


def register() -> None:
    """The configs in Hydra's ConfigStore (run when Hydra's plugin scan imports this module)."""
    store = ConfigStore.instance()
    store.store(group="hydra/sweeper", name="optuna", node=schemas.OptunaSweeperConfig,
                provider="seqexp")
    for name, node in schemas.SAMPLERS.items():
        store.store(group="hydra/sweeper/sampler", name=name, node=node, provider="seqexp")
    for name, node in schemas.PRUNERS.items():
        store.store(group="hydra/sweeper/pruner", name=name, node=node, provider="seqexp")


def install() -> None:
    """The configs, and the class among Hydra's plugins: an editable install of seqexp puts
    ``hydra_plugins.seqexp_sweeper`` (the folder ``seqexp/sweeps/hydra_plugin``) behind
    setuptools' import hook, which Hydra's scan cannot list."""
    from hydra.core.plugins import Plugins

    register()
    Plugins.instance().register(OptunaSweeper)


register()
