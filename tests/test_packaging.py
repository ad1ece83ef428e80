"""The install declares every package folder (conf/ included), so setuptools builds without
its "Package would be ignored" warning screens and the wheel holds every config file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

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
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    # folders installed under another name: conf/ as seqexp.conf, the sweeper plugin in
    # Hydra's hydra_plugins namespace (Hydra instantiates plugin classes only from there)
    mapped = {name: ".".join(("seqexp", *Path(folder).parts[1:])) if folder != "conf"
              else "seqexp.conf" for name, folder in config["package-dir"].items()}
    assert mapped["hydra_plugins.seqexp_sweeper"] == "seqexp.sweeps.hydra_plugin"
    code = {p for p in _folders(ROOT / "seqexp", "seqexp", (".py",))
            if p != "seqexp.conf" and not p.startswith("seqexp.conf.")}
    code = {next((name for name, real in mapped.items() if real == p), p) for p in code}
    conf = _folders(ROOT / "conf", "seqexp.conf", (".yaml", ".py"))
    parents = {p.rsplit(".", n)[0] for p in code | conf for n in range(1, p.count("."))}
    parents -= {"hydra_plugins"}  # a namespace package: no __init__.py of its own
    assert code | conf | parents == declared


def test_the_top_level_holds_only_the_products_folders():
    import subprocess

    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: the tracked tree cannot be listed")
    folders = {line.split("/", 1)[0] for line in listed.stdout.splitlines() if "/" in line}
    assert folders <= {"conf", "seqexp", "tests", "bench", "scripts", "examples", ".ci"}
