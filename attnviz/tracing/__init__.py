"""One traced run: every hook attnviz puts on a model, named as TransformerLens names its hook points.

:func:`~attnviz.tracing.trace.run` runs a model once and returns what was read at the names asked for; writes are
hook functions at the same names. See :mod:`attnviz.tracing.names` for the names and
:mod:`attnviz.tracing.trace` for the cache.
"""
