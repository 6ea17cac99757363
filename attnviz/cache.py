"""A least-recently-used cache bounded in bytes, shared by every session of a server.

Entries are handed out as they are (no pickling, no copy per use), so callers treat them as read-only.
Sizes are measured once, when an entry is stored.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np


def nbytes(value: Any, _depth: int = 0) -> int:
    """Memory held by numpy arrays inside ``value`` (dataclasses, dicts, lists, tuples), plus a little for the rest."""
    if _depth > 6:
        return 0
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if is_dataclass(value) and not isinstance(value, type):
        return 64 + sum(nbytes(getattr(value, f.name), _depth + 1) for f in fields(value))
    if isinstance(value, dict):
        return 64 + sum(nbytes(v, _depth + 1) for v in value.values())
    if isinstance(value, (list, tuple)):
        return 64 + sum(nbytes(v, _depth + 1) for v in value[:10_000])
    if isinstance(value, (str, bytes)):
        return len(value)
    return 16


class ByteBoundedCache:
    def __init__(self, max_bytes: int):
        self.max_bytes = int(max_bytes)
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key][0]
        value = compute()  # outside the lock: other sessions keep being served meanwhile
        size = nbytes(value)
        with self._lock:
            if key not in self._entries and size <= self.max_bytes:
                self._entries[key] = (value, size)
                self.bytes += size
                while self.bytes > self.max_bytes:
                    _, (_, dropped) = self._entries.popitem(last=False)
                    self.bytes -= dropped
        return value

    def peek(self, key: Hashable) -> Any | None:
        """The value kept under ``key`` (now the most recently used), or None."""
        with self._lock:
            if key not in self._entries:
                return None
            self._entries.move_to_end(key)
            return self._entries[key][0]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0
