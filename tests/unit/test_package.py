"""attnviz installs as a package: the wheel carries the engine, the app and the toy models; it works anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(ROOT)], check=True, cwd=tmp_path_factory.mktemp("build-cwd"))
    return next(out.glob("attnviz-*.whl"))


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True)
    return target


def test_the_wheel_carries_the_app_and_the_toy_models(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ["attnviz/__init__.py", "attnviz/capturing/run.py", "attnviz/cli/__init__.py",
                     "attnviz/_bundle/app.py", "attnviz/_bundle/pages/self_attention.py",
                     "attnviz/_bundle/ui/lessons/zh/derivation.md",
                     "attnviz/_bundle/ui/lang.py", "attnviz/_bundle/.streamlit/config.toml",
                     "attnviz/_bundle/ui/i18n/errors.toml", "attnviz/toy/lexicon.toml",
                     "attnviz/_bundle/assets/models/toy-translator/model.safetensors",
                     "attnviz/_bundle/assets/models/toy-lm/tokenizer.json"]:
        assert expected in names, expected
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "attnviz = attnviz.cli:main" in entry_points
    assert not any(n.startswith(("tests/", "ui/", "pages/")) for n in names)  # nothing at the top level but attnviz


def _run(installed: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(installed), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, *args], cwd="/", env=env, capture_output=True, text=True, timeout=300)


def test_import_works_from_any_folder_and_finds_the_bundled_models(installed):
    done = _run(installed, "-c", "import attnviz, attnviz.paths as p; from attnviz.models.registry import resolve; "
                                 "print(attnviz.__file__); print(p.app_script()); print(resolve('toy-lm').location)")
    assert done.returncode == 0, done.stderr
    module, app, toy = done.stdout.split()
    assert module.startswith(str(installed)) and app.startswith(str(installed)) and toy.startswith(str(installed))


def test_the_installed_command_line_captures_a_toy_model(installed, tmp_path):
    out = tmp_path / "r.json"
    done = _run(installed, "-m", "attnviz", "capture", "--model", "toy-lm", "--text", "the train left",
                "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert out.is_file() and "decoder" in done.stdout


def test_the_installed_console_script_lists_the_models(installed):
    script = installed / "bin" / "attnviz"
    assert script.is_file()
    done = subprocess.run([sys.executable, str(script), "models"], cwd="/", capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(installed)}, timeout=120)
    assert done.returncode == 0, done.stderr
    assert {"minilm", "toy-translator", "toy-lm"} <= {line.split()[0] for line in done.stdout.splitlines()}
    assert "trained on a small grammar" in done.stdout  # the descriptions, read from the bundled word tables
