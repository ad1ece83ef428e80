"""What a run needs to be recreated, recorded on it, and how a recorded run differs from here.

A run records the code (tag ``mlflow.source.git.commit``, MLflow's own, and ``git.dirty``;
the uncommitted changes as the artifact ``environment/git.diff`` when the tree is dirty,
untracked files included), the installed packages (``environment/requirements.txt``, one
``name==version`` a line: the requirements.txt convention of MLflow's models) and the
versions that decide numerics (tags ``python_version``, ``keras_version``,
``keras_backend``, ``backend_version``). :func:`differences` compares such a record with this
checkout and environment; ``seqexp-rerun`` says what it finds before it reruns a run.
"""

from __future__ import annotations

import functools
import importlib.metadata
import platform
import subprocess
from pathlib import Path

REQUIREMENTS = "environment/requirements.txt"
DIFF = "environment/git.diff"
COMMIT_TAG = "mlflow.source.git.commit"
DIRTY_TAG = "git.dirty"
MAX_UNTRACKED_BYTES = 1 << 20  # an untracked file larger than this is named, not copied


def source_root() -> Path:
    """The folder holding the seqexp package (a git checkout when installed editable)."""
    return Path(__file__).resolve().parents[2]  # seqexp/tracking/provenance.py


def git(*args: str) -> str | None:
    """``git <args>`` in the source checkout; None outside one (an installed wheel)."""
    try:
        out = subprocess.run(["git", "-C", str(source_root()), *args], capture_output=True,
                             text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode in (0, 1) else None


def commit() -> str | None:
    return (git("rev-parse", "HEAD") or "").strip() or None


def diff() -> str | None:
    """The uncommitted changes against HEAD (staged or not), untracked files as additions;
    "" for a clean tree, None outside a checkout."""
    tracked = git("diff", "HEAD", "--no-color", "--no-ext-diff")
    if tracked is None:
        return None
    parts = [tracked]
    for name in (git("ls-files", "--others", "--exclude-standard") or "").splitlines():
        path = source_root() / name
        if path.is_file() and path.stat().st_size <= MAX_UNTRACKED_BYTES:
            parts.append(git("diff", "--no-color", "--no-index", "--", "/dev/null", name) or "")
        else:
            parts.append(f"# untracked, not copied (over {MAX_UNTRACKED_BYTES} bytes): {name}\n")
    return "".join(parts)


@functools.cache  # read once a process: a sweep's later jobs do not scan site-packages again
def requirements() -> str:
    """Every installed distribution as ``name==version``, sorted, one a line."""
    found = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(name.lower(), f"{name}=={dist.version}")
    return "".join(f"{found[key]}\n" for key in sorted(found))


def parse_requirements(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        name, sep, version = line.strip().partition("==")
        if sep:
            out[name.lower()] = version
    return out


def version_of(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def version_tags(backend: str) -> dict[str, str]:
    """Python, Keras and the backend's versions (read from the installed metadata: nothing
    is imported)."""
    package = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend, backend)
    backend_version = version_of(package)
    if backend_version == "not installed" and package == "tensorflow":
        backend_version = version_of("tensorflow-cpu")
    return {"python_version": platform.python_version(), "keras_version": version_of("keras"),
            "keras_backend": backend, "backend_version": backend_version}


def record(run, backend: str) -> None:
    """Tag and attach what recreates ``run`` (a :class:`seqexp.tracking.Run`)."""
    changes = diff()
    tags = {COMMIT_TAG: commit(), **version_tags(backend)}
    if changes is not None:
        tags[DIRTY_TAG] = str(bool(changes)).lower()
    run.set_tags(tags)
    run.log_text(requirements(), REQUIREMENTS)
    if changes:
        run.log_text(changes, DIFF)


def differences(tags: dict[str, str], recorded_requirements: str | None,
                recorded_diff: str | None) -> list[str]:
    """What differs between a run's record and this checkout and environment, one line each
    (empty: the same code and packages)."""
    out = []
    then, now = tags.get(COMMIT_TAG), commit()
    changes = diff()
    if then != now:
        out.append(f"code: the run was at commit {str(then)[:12]}, this checkout is at "
                   f"{str(now)[:12]} (git diff {str(then)[:12]} shows what changed)")
    if (recorded_diff or "") != (changes or ""):
        if tags.get(DIRTY_TAG) == "true":
            out.append(f"code: the run had uncommitted changes (its artifact {DIFF}) that "
                       "differ from this tree's")
        else:
            out.append("code: this tree has uncommitted changes the run did not have "
                       "(git diff HEAD)")
    if recorded_requirements is not None:
        old, new = parse_requirements(recorded_requirements), parse_requirements(requirements())
        changed = [f"{name} {old.get(name, '-')} -> {new.get(name, '-')}"
                   for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)]
        if changed:
            shown = ", ".join(changed[:8]) + (f" and {len(changed) - 8} more"
                                              if len(changed) > 8 else "")
            out.append(f"packages: {len(changed)} differ from the run's {REQUIREMENTS}: {shown}")
    if tags.get("python_version") and tags["python_version"] != platform.python_version():
        out.append(f"python: the run used {tags['python_version']}, this is "
                   f"{platform.python_version()}")
    return out
