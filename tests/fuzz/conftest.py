"""Fuzz profiles: a short one for every run (CI), a long one on demand.

    ATTNVIZ_FUZZ=long python -m pytest tests/fuzz      # >= 10,000 cases in all
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
           "derandomize": False}
settings.register_profile("ci", max_examples=40, **_COMMON)
settings.register_profile("long", max_examples=2500, **_COMMON)
settings.load_profile(os.environ.get("ATTNVIZ_FUZZ", "ci"))
