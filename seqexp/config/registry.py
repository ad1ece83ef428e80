"""Registration by name: one typed schema per option of the dataset, encoder and model groups.

A schema is a dataclass whose ``name`` default is the option's name (``model=gru``); its fields
carry a one-line ``help`` and their bounds (:func:`option`). A builder (a dataset loader, an
encoder, a model body) is registered against its schema(s) with :meth:`Registry.register`, so
a name is written once, in its schema. Hydra's ConfigStore is fed from the schemas
(:func:`seqexp.config.schemas.register`); a YAML file in ``conf/<group>/`` is only needed for
an option holding values of its own (``dataset=jena-sample``).

Schemas live in modules that import neither TensorFlow, Keras nor MLflow (the model modules
import Keras inside their builders; datasets and encoders, whose modules need NumPy and Keras,
declare their schemas in ``seqexp/data/schemas.py`` and ``seqexp/encoders/schemas.py``), so
``seqexp --help`` and config errors answer at once.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable
from typing import Any, TypeVar

from omegaconf import MISSING

from seqexp.errors import SeqexpError

F = TypeVar("F", bound=Callable)


def option(default: Any, help: str, **bounds: Any) -> Any:
    """A schema field with a one-line description and optional bounds: ``min``/``max``
    (inclusive, on a number or on every entry of a list) and ``min_len`` (of a list)."""
    meta = {"help": help, **bounds}
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def import_submodules(package: str) -> None:
    """Import every module of ``package`` (so that their registrations run)."""
    path = importlib.import_module(package).__path__
    for info in pkgutil.iter_modules(path):
        importlib.import_module(f"{package}.{info.name}")


def name_of(schema: type) -> str:
    """The option a schema stands for: the default of its ``name`` field."""
    name = next((f.default for f in dataclasses.fields(schema) if f.name == "name"), MISSING)
    if not isinstance(name, str) or name == MISSING:
        raise TypeError(f"{schema.__name__} is not an option: give its 'name' field a default")
    return name


class Registry:
    """The options of one config group: schemas by name, and the builder of each.

    ``base`` is the group's schema base class: every dataclass subclass of it with a ``name``
    default is an option. ``schemas`` names the module(s) that declare them (imported to feed
    the ConfigStore, so they must be light); ``package`` holds the builders (imported, all of
    its modules, the first time a builder is asked for).
    """

    def __init__(self, group: str, base: type, package: str, schemas: str | None = None):
        self.group, self.base, self.package = group, base, package
        self.schemas_module = schemas
        self._builders: dict[str, Callable] = {}

    def register(self, *schemas: type) -> Callable[[F], F]:
        """Decorator: ``fn`` builds the options these schemas stand for."""

        def deco(fn: F) -> F:
            for schema in schemas:
                self._builders[name_of(schema)] = fn
            return fn

        return deco

    def options(self) -> dict[str, type]:
        """Every option of the group, by name, in declaration order."""
        if self.schemas_module is None:
            import_submodules(self.package)
        else:
            importlib.import_module(self.schemas_module)
        found: dict[str, type] = {}
        todo = [self.base]
        while todo:
            cls = todo.pop(0)
            todo.extend(cls.__subclasses__())
            if cls is not self.base and dataclasses.is_dataclass(cls):
                try:
                    found.setdefault(name_of(cls), cls)
                except TypeError:  # an abstract family base (name left MISSING)
                    pass
        return found

    def schema(self, name: str) -> type:
        options = self.options()
        if name not in options:
            raise SeqexpError(f"{self.group}={name} is unknown: use one of {', '.join(options)}")
        return options[name]

    def builder(self, name: str, key: str | None = None) -> Callable:
        """The builder of option ``name`` (``key``: the config key named in an error)."""
        import_submodules(self.package)
        if name not in self._builders:
            raise SeqexpError(f"{key or self.group}={name} is not implemented: use one of "
                              f"{', '.join(sorted(self._builders))}")
        return self._builders[name]
