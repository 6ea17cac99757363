"""The lock files pin what the tests ran on: every package of a venv built from requirements-dev.txt is pinned
there at the version installed, and the pins satisfy the ranges pyproject.toml declares."""

from __future__ import annotations

import os
import re
from importlib import metadata
from pathlib import Path

import tomllib
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
INSTALLER_TOOLS = {"pip", "setuptools", "wheel", "attnviz"}  # the venv's own tools, and the project itself


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def pins(lock: str) -> dict[str, str]:
    found = {}
    for line in (ROOT / lock).read_text("utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;#]+)", line)
        if match:
            found[_name(match[1])] = match[2]
    return found


def test_every_range_in_pyproject_is_pinned_inside_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    for lock, extras in (("requirements.txt", []), ("requirements-dev.txt", ["census", "dev"])):
        locked = pins(lock)
        wanted = [*project["dependencies"], *(r for extra in extras for r in project["optional-dependencies"][extra])]
        for requirement in map(Requirement, wanted):
            name = _name(requirement.name)
            assert name in locked, f"{name} is in pyproject.toml but not in {lock}: run `bash scripts/lock.sh`"
            assert requirement.specifier.contains(locked[name], prereleases=True), \
                f"{lock} pins {name}=={locked[name]} outside {requirement.specifier}: run `bash scripts/lock.sh`"


def test_the_app_lock_is_part_of_the_dev_lock():
    app, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    differ = {name: (version, dev.get(name)) for name, version in app.items() if dev.get(name) != version}
    assert not differ, f"requirements.txt and requirements-dev.txt disagree: {differ}; run `bash scripts/lock.sh`"


def test_torch_is_locked_to_the_cpu_build():
    for lock in ("requirements.txt", "requirements-dev.txt"):
        locked = pins(lock)
        assert locked["torch"].endswith("+cpu"), locked["torch"]
        assert not [name for name in locked if name.startswith("nvidia-")], lock


def test_the_installed_packages_are_the_locked_ones():
    """Every installed distribution is pinned at its installed version. In CI (a venv made from the lock) that
    covers the whole venv; on a developer's machine, packages installed by hand beyond the lock are tolerated,
    but a locked package at another version is not."""
    locked = pins("requirements-dev.txt")
    installed = {_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    wrong = {name: (version, locked[name]) for name, version in installed.items()
             if name in locked and version != locked[name]}
    assert not wrong, f"installed version differs from the lock (installed, locked): {wrong}"
    if os.environ.get("CI"):
        unlocked = sorted(set(installed) - set(locked) - INSTALLER_TOOLS)
        assert not unlocked, f"installed but not pinned in requirements-dev.txt: {unlocked}"
