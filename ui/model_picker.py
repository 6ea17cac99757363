"""Hub models in the app: the operator's list, the download size before it starts, a progress bar while it runs."""

from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from attnviz.hub import cached_snapshot, fetch, plan_download
from attnviz.models.registry import BUILTIN_MODELS, looks_like_path
from attnviz.settings import CURATED_FAMILIES
from ui.cached import cached, visitor_settings
from ui.errors import shown_errors
from ui.lang import tr


def hub_choices(families: tuple[str, ...]) -> list[str]:
    """Hub ids the operator offers that this page can show (unknown families are offered everywhere)."""
    return [name for name in visitor_settings().models
            if name not in BUILTIN_MODELS and CURATED_FAMILIES.get(name, families[0]) in families]


def ready_to_load(name: str) -> bool:
    """True when ``name`` can load now; for a hub id not yet cached, offer the download (size first)."""
    if name in BUILTIN_MODELS or looks_like_path(name):
        return True  # not a hub id: loading says what is wrong, if anything
    if visitor_settings().allow_local_paths and Path(name).expanduser().is_dir():
        return True
    if cached_snapshot(name) is not None:
        return True
    if not visitor_settings().allow_downloads:
        return True  # loading says, in the visitor's language, that it is not available offline
    plan = None
    with shown_errors():
        plan = cached(plan_download, name)
    if plan is None:
        return False
    size = f"{plan.missing_bytes / 2**20:.1f} MB"
    st.info(tr("hub.download_needed", model=name, size=size, files=len(plan.files)))
    if not st.button(tr("hub.download", size=size), key=f"download-{name}", icon=":material/download:"):
        return False
    bar = st.progress(0.0, text=tr("hub.downloading", model=name))
    context = get_script_run_ctx()

    def report(done: int, total: int) -> None:
        # Downloads run in huggingface_hub's worker threads: lend them this session's context to draw.
        add_script_run_ctx(threading.current_thread(), context)
        bar.progress(min(1.0, done / max(total, 1)), text=tr("hub.progress", done=done / 2**20, total=total / 2**20))

    with shown_errors():
        fetch(name, progress=report)
        bar.empty()
        return True
    return False
