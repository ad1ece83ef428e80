"""A search space from Hydra's sweep syntax (``hydra.sweeper.params`` and sweep overrides on
the command line) as Optuna distributions:

- ``choice(a, b, c)`` -> categorical;
- ``range(1, 10)`` / ``range(0.1, 1.0, 0.1)`` -> int / float with a step
  (``shuffle(range(...))``: categorical);
- ``interval(0.0001, 0.01)`` -> float (Hydra reads an interval's ends as floats: ints come
  from ``range``); ``tag(log, ...)``: log scale.

A value that is not a sweep (``model.units=32``) is passed to every trial as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seqexp.errors import SeqexpError


def _distribution(override) -> Any:
    from hydra.core.override_parser.types import Transformer
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    value = override.value()
    if override.is_choice_sweep() or (override.is_range_sweep() and value.shuffle):
        return CategoricalDistribution(list(override.sweep_iterator(
            transformer=Transformer.encode)))
    if override.is_range_sweep():
        ints = all(isinstance(v, int) for v in (value.start, value.stop, value.step))
        if ints:  # Hydra's range excludes its stop; Optuna's high is inclusive
            return IntDistribution(int(value.start), int(value.stop) - int(value.step),
                                   step=int(value.step))
        last = value.start + value.step * int(round((value.stop - value.start) / value.step) - 1)
        return FloatDistribution(float(value.start), float(last), step=float(value.step))
    if override.is_interval_sweep():
        return FloatDistribution(float(value.start), float(value.end), log="log" in value.tags)
    raise SeqexpError(f"{override.input_line}: the Optuna sweeper takes choice(...), "
                      "range(...) or interval(...) (tag(log, ...) for a log scale)")


def search_space(params: Mapping[str, str] | None, arguments: list[str]
                 ) -> tuple[dict[str, Any], list[str]]:
    """``(distributions by key, fixed overrides)`` from the sweeper's ``params`` and the
    command line's overrides (a sweep there joins the search space; the command line wins)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    lines = [f"{key}={value}" for key, value in (params or {}).items()]
    by_key = {o.get_key_element(): o for o in parser.parse_overrides(lines)}
    by_key.update({o.get_key_element(): o for o in parser.parse_overrides(arguments)})
    space, fixed = {}, []
    for key, override in by_key.items():
        if override.is_sweep_override():
            space[key] = _distribution(override)
        else:
            fixed.append(override.input_line)
    return space, fixed


def as_override(key: str, value: Any) -> str:
    """``key=value`` as Hydra parses it back (None as null, strings as they are)."""
    if value is None:
        return f"{key}=null"
    return f"{key}={value}"
