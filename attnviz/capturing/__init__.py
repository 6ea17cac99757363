"""The machinery of capture: the attention function transformers calls, the load-time probe, the
capture session that fills result buffers (and ablates heads), tokenizing, and :func:`capture`."""
