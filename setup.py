"""The wheel carries the app (app.py, pages/, ui/, .streamlit/) and the toy models next to the engine.

They stay where they are in the repository; at build time they are copied into ``attnviz/_bundle``,
where ``attnviz app`` and the model registry find them once installed.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = ["app.py", "pages", "ui", ".streamlit", "assets/models", "deploy/nginx.conf.template"]


class BuildWithBundle(build_py):
    def run(self):
        super().run()
        bundle = Path(self.build_lib) / "attnviz" / "_bundle"
        for name in BUNDLED:
            source, target = ROOT / name, bundle / name
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)


setup(cmdclass={"build_py": BuildWithBundle})
