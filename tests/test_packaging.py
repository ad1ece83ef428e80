"""The install declares every package folder (conf/ included), so setuptools builds without
its "Package would be ignored" warning screens and the wheel holds every config file."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _folders(top: Path, package: str, suffixes: tuple[str, ...]) -> set[str]:
    found = set()
    for folder in [top, *top.rglob("*")]:
        if folder.is_dir() and "__pycache__" not in folder.parts and any(
                f.suffix in suffixes for f in folder.iterdir() if f.is_file()):
            found.add(".".join([package, *folder.relative_to(top).parts]))
    return found


def test_every_package_folder_is_declared():
    declared = set(tomllib.loads((ROOT / "pyproject.toml").read_text())
                   ["tool"]["setuptools"]["packages"])
    code = {p for p in _folders(ROOT / "seqexp", "seqexp", (".py",))
            if p != "seqexp.conf" and not p.startswith("seqexp.conf.")}
    conf = _folders(ROOT / "conf", "seqexp.conf", (".yaml", ".py"))
    parents = {p.rsplit(".", n)[0] for p in code | conf for n in range(1, p.count("."))}
    # Hydra's plugins live in the hydra_plugins namespace package (no __init__.py of its own)
    plugins = _folders(ROOT / "hydra_plugins", "hydra_plugins", (".py",)) - {"hydra_plugins"}
    assert plugins == {"hydra_plugins.seqexp_sweeper"}
    assert code | conf | parents | plugins == declared
