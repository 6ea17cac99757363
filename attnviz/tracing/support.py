"""Which views of the residual stream a model supports, decided once for every view.

The decomposition (contributions, attribution, lens), the routes and patching all split the stream
into what each head, each MLP and each norm wrote, so they need the same things of a model: each head's
output as it leaves attention (the attention interface), a W_O to carry it into the stream, and the
blocks around the heads. :func:`support` checks those once and gives every view the same verdict and
the same reason; a view that gets past it and still finds the stream unlike its parts (a completeness
check fails) raises the same :class:`~attnviz.errors.StreamError`.

A block shared by several layers (ALBERT runs one block twelve times) is no reason to refuse: the
tracer tells its runs apart by how many times it has run in the pass (:mod:`attnviz.tracing.points`).
"""

from __future__ import annotations

from typing import Literal

from attnviz.errors import StreamError
from attnviz.result import AttentionKind
from attnviz.tracing.points import points_of

View = Literal["contributions", "routes", "patching"]
VIEWS: tuple[View, ...] = ("contributions", "routes", "patching")


def stream_kind(loaded) -> AttentionKind:
    """The stream a view splits: an encoder's, else the decoder's (an encoder-decoder's decoder reads the encoder)."""
    return "encoder" if loaded.family == "encoder" else "decoder"


def support(loaded, view: View) -> None:
    """Raise :class:`StreamError` (one code and one sentence per reason) when ``loaded``'s stream cannot be split.

    ``view`` names the caller; every view gets the same verdict for a model.
    """
    if view not in VIEWS:
        raise ValueError(f"no view {view!r}; known: {', '.join(VIEWS)}")
    if loaded.capture_path != "interface":
        raise StreamError(code="no_head_outputs", model=loaded.name)
    if points_of(loaded.model).problem is not None:
        raise StreamError(code="no_blocks", model=loaded.name)
    for kind_sites in loaded.sites.values():
        for site in kind_sites:
            if site.output_projection is None:
                raise StreamError(code="no_output_projection", model=loaded.name, kind=site.kind, layer=site.layer)


def verdict(loaded, view: View) -> str:
    """``"ok"``, or the code :func:`support` raises."""
    try:
        support(loaded, view)
    except StreamError as error:
        return error.code
    return "ok"
