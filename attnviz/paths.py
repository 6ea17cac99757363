"""Where the app, its word tables and the toy models are: bundled inside the installed package, or in the repository."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
_BUNDLE = PACKAGE / "_bundle"  # filled by the wheel build (setup.py)
_REPOSITORY = PACKAGE.parent


def _root() -> Path:
    return _BUNDLE if (_BUNDLE / "app.py").is_file() else _REPOSITORY


def app_script() -> Path:
    """The Streamlit entry script (``streamlit run`` it)."""
    return _root() / "app.py"


def asset_models() -> Path:
    """The folder holding the toy models."""
    bundled = _BUNDLE / "assets" / "models"
    return bundled if bundled.is_dir() else _REPOSITORY / "assets" / "models"


def word_tables() -> list[Path]:
    """The interface's word tables (ui/i18n/*.toml, the lessons' labels): every sentence attnviz shows."""
    ui = _root() / "ui"
    return [*sorted((ui / "i18n").glob("*.toml")), ui / "lessons" / "labels.toml"]


def nginx_template() -> Path:
    """The reverse proxy's configuration template (``attnviz serve``)."""
    return _root() / "deploy" / "nginx.conf.template"
