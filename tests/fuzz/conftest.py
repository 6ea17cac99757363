"""Fuzz profiles (registered in tests/conftest.py): a short one for every run (CI), a long one on demand.

    ATTNVIZ_FUZZ=long python -m pytest tests/fuzz      # >= 10,000 cases in all
    python -m pytest tests/fuzz --hypothesis-profile=long
"""

from __future__ import annotations

import os

from hypothesis import settings

# The environment wins; else a profile named on the command line (already loaded by hypothesis); else CI.
if os.environ.get("ATTNVIZ_FUZZ"):
    settings.load_profile(os.environ["ATTNVIZ_FUZZ"])
elif settings.get_current_profile_name() == "default":
    settings.load_profile("ci")
