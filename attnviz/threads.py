"""Threads per forward pass that follow what is running, not a constant.

A visitor alone on a server gets every core for their forward pass (a 510-token MiniLM text in a fraction of
the time); when several runs overlap, each gets one thread, since two threads per pass on shared cores spin
against each other (a MiniLM capture cost 132 ms of CPU instead of 9 ms). The policy counts the runs in flight:
each run sets its own count as it starts (OpenMP's count is per thread), and MKL's count, global to the process,
follows the runs as they start and end.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class ThreadPolicy:
    """``fixed`` > 0 pins every run to that many threads (the operator's ``torch_threads``); 0 follows the load."""

    def __init__(self, fixed: int = 0, cores: int | None = None) -> None:
        self.fixed = int(fixed)
        self.cores = cores or available_cores()
        self._active = 0
        self._lock = threading.Lock()
        self._depth = threading.local()  # a run inside a run of the same thread (a cached lens computing its
        # decomposition) is the same run

    def threads_for(self, active: int) -> int:
        if self.fixed > 0:
            return self.fixed
        return self.cores if active <= 1 else 1

    @property
    def active(self) -> int:
        return self._active

    @contextmanager
    def run(self) -> Iterator[int]:
        """Around one unit of model work: yields the threads it starts with."""
        depth = getattr(self._depth, "value", 0)
        if depth:
            self._depth.value = depth + 1
            try:
                yield torch.get_num_threads()
            finally:
                self._depth.value = depth
            return
        self._depth.value = 1
        with self._lock:
            self._active += 1
            threads = self.threads_for(self._active)
            torch.set_num_threads(threads)
        try:
            yield threads
        finally:
            self._depth.value = 0
            with self._lock:
                self._active -= 1
                if self._active:  # the runs still going may now have the cores to themselves
                    torch.set_num_threads(self.threads_for(self._active))
