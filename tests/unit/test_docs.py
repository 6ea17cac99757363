"""The documentation: the site builds with ``mkdocs build --strict`` offline, and the README stays a short front
door whose claims follow the facts they summarise."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from tests.pages import registered_pages

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text("utf-8")
COMMANDS = [
    "python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt && pip install --no-deps -e . "
    "&& streamlit run app.py",
    "python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements-dev.txt "
    "&& pip install --no-deps -e . && python -m pytest",
]


def test_the_site_builds_strict_offline_in_seconds(tmp_path):
    # a proxy that refuses everything: a theme or plugin that downloads at build time fails the build
    offline = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": "",
               "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "no_proxy": "",
               "NO_MKDOCS_2_WARNING": "1"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", "mkdocs.yml",
                           "--site-dir", str(tmp_path / "site")], cwd=ROOT, env={**os.environ, **offline},
                          capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    site = tmp_path / "site"
    # the API reference is generated from the docstrings, and the family table from tests/family_table.json
    reference = (site / "reference" / "public" / "index.html").read_text("utf-8")
    assert all(f'id="attnviz.{name}"' in reference for name in ("load_model", "capture", "AttentionResult"))
    assert 'id="attnviz.notebook.model_view"' in (site / "reference" / "notebook" / "index.html").read_text("utf-8")
    families = json.loads((ROOT / "tests" / "family_table.json").read_text("utf-8"))["families"]
    models = (site / "models" / "index.html").read_text("utf-8")
    assert all(f"<td>{name}</td>" in models for name in families)
    assert "fonts.googleapis.com" not in (site / "index.html").read_text("utf-8")
    assert seconds < 60, f"the docs took {seconds:.0f} s to build"


def test_the_readme_is_a_short_front_door():
    lines = README.splitlines()
    assert len(lines) <= 200, f"the README has {len(lines)} lines: move details into docs/"
    commands = [line for line in lines[:10] if line.startswith("python3 -m venv")]
    assert commands == COMMANDS
    assert "python -m pytest" in (ROOT / ".ci" / "run").read_text("utf-8")


def test_the_readme_lists_every_page_of_the_app():
    registered = registered_pages()
    table = README.split("## What is in the app", 1)[1].split("\n## ", 1)[0]
    assert registered and all(f"`{name}`" in table for name in registered), registered


def test_the_readme_family_counts_follow_the_generated_table():
    families = json.loads((ROOT / "tests" / "family_table.json").read_text("utf-8"))["families"].values()
    readme = " ".join(README.split())  # the README's lines wrap anywhere
    kinds = [facts["family"] for facts in families]
    assert f"runs {len(kinds)} families" in readme
    assert (f"({kinds.count('decoder')} decoders, {kinds.count('encoder')} encoders, "
            f"{kinds.count('encoder-decoder')} encoder-decoders" in readme)
    paths = [facts["capture_path"] for facts in families]
    assert f"{paths.count('interface')} go through attnviz's" in readme
    assert f"{paths.count('output_attentions')} are read from `output_attentions`" in readme
    contributions = sum(facts["contributions"] == "ok" for facts in families)
    routes = sum(facts["routes"] == "ok" for facts in families)
    assert contributions == routes  # one verdict for every view of the stream (attnviz.tracing.support)
    assert f"contributions, routes and patching work on {contributions}" in readme


def test_every_benchmark_command_in_the_docs_exists_and_every_script_is_listed():
    scripts = {path.stem for path in (ROOT / "benchmarks").glob("*.py")}
    named = set()
    for page in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]:
        named |= set(re.findall(r"python -m benchmarks\.([a-z_]+)", page.read_text("utf-8")))
    assert named <= scripts, named - scripts
    listed = set(re.findall(r"python -m benchmarks\.([a-z_]+)", (ROOT / "docs" / "benchmarks.md").read_text("utf-8")))
    assert listed == scripts, scripts ^ listed
