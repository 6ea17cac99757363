"""Activation patching: which components an answer depends on, exactly and by attribution.

See :mod:`attnviz.patching.compute` for the method and :mod:`attnviz.patching.components` for what can be patched.
"""

from attnviz.patching.components import COMPONENTS, TRANSFORMER_LENS, Component, component
from attnviz.patching.compute import Pair, attribute, patch, prepare
from attnviz.patching.result import Agreement, PatchingResult, agreement

__all__ = ["COMPONENTS", "TRANSFORMER_LENS", "Agreement", "Component", "Pair", "PatchingResult", "agreement",
           "attribute", "component", "patch", "prepare"]
