"""Config errors as one line: from Hydra's and OmegaConf's exception objects, the option Hydra
could not find (with the group's options), the override it could not parse, the key OmegaConf
refused (an enum's allowed values named)."""

from __future__ import annotations


def one_line(err: BaseException) -> str:
    """A config error as one line, from Hydra's and OmegaConf's exception objects: the
    option Hydra could not find with the group's options, the override it could not parse,
    the key OmegaConf refused (an enum's allowed values named)."""
    from hydra.errors import MissingConfigException, OverrideParseException
    from omegaconf.errors import OmegaConfBaseException

    headline = "; ".join(line.strip() for line in str(err).splitlines() if line.strip())
    if isinstance(err, MissingConfigException):
        headline = str(err).splitlines()[0]
        group = err.missing_cfg_file.rpartition("/")[0]
        if err.options:
            headline += f"; Available options in '{group}': {', '.join(err.options)}"
        return headline
    if isinstance(err, OverrideParseException):
        return "; ".join(line.strip() for line in err.message.splitlines() if line.strip())
    cause = err if isinstance(err, OmegaConfBaseException) else err.__cause__
    if not isinstance(cause, OmegaConfBaseException):
        return headline
    allowed = enum_values(cause.object_type, cause.key)
    if allowed is not None:
        return f"{cause.full_key}={cause.value} is not allowed: choose one of {', '.join(allowed)}"
    reason = str(cause.msg).splitlines()[0] if cause.msg else type(cause).__name__
    return reason if cause is err else f"{headline}; {reason}"


def enum_values(schema: object, key: object) -> list[str] | None:
    """The allowed values of ``schema``'s field ``key`` when it is an enum, else None."""
    import enum
    import typing

    try:
        hint = typing.get_type_hints(schema).get(key)
    except (TypeError, NameError):
        return None
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return [str(member.value) for member in hint]
    return None
