"""A least-recently-used cache bounded in bytes, shared by every session of a server.

Entries are handed out as they are (no pickling, no copy per use), so callers treat them as read-only.
Sizes are measured once, when an entry is stored, as the bytes the entry really holds (:func:`nbytes`), so the
configured bound bounds memory.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np

try:  # the cache holds tensors too (models' outputs); torch is always there in the app, maybe not in a tool
    import torch as _torch
except ImportError:  # pragma: no cover
    _torch = None


def nbytes(value: Any) -> int:
    """The memory ``value`` holds: numpy arrays and torch tensors by their buffers, strings and bytes by their
    size, containers, dataclasses and plain objects by what they hold plus their own size. An object reached
    twice (one array in two fields) counts once; a view counts the whole buffer it keeps alive."""
    return _Meter().measure(value)


_SAMPLE = 1_000  # past this many items a container is measured on a sample and scaled up
# What the cache itself spends on an entry: its slot in the ordered dict and the (value, size) pair
# (about 190 bytes measured with tracemalloc on CPython 3.11); with tens of thousands of small derived
# views, leaving it out let memory grow past the bound by ~40 MB in a 10-minute class soak
ENTRY_BYTES = 200
_ARRAY_HEADER = 112  # what sys.getsizeof adds to an array's buffer


def _shared(value: Any) -> bool:
    return (_torch is not None and isinstance(value, _torch.nn.Module)) or hasattr(value, "convert_ids_to_tokens")


class _Meter:
    def __init__(self) -> None:
        self.objects: set[int] = set()
        self.buffers: set[int] = set()  # numpy bases and torch storages, by address

    def _buffer(self, address: int, size: int) -> int:
        if address and address in self.buffers:
            return 0
        self.buffers.add(address)
        return size

    def measure(self, value: Any) -> int:
        if value is None or isinstance(value, (bool, int, float, type)) or id(value) in self.objects:
            return 0
        if _shared(value):  # a model or tokenizer an entry points to is the server's, not the entry's
            return 0
        self.objects.add(id(value))
        if isinstance(value, np.ndarray):
            base = value
            while isinstance(base.base, np.ndarray):  # a view keeps its base's whole buffer alive
                base = base.base
            return _ARRAY_HEADER + self._buffer(base.__array_interface__["data"][0], int(base.nbytes))
        if _torch is not None and isinstance(value, _torch.Tensor):
            storage = value.untyped_storage()
            return _ARRAY_HEADER + self._buffer(storage.data_ptr(), int(storage.nbytes()))
        if isinstance(value, (str, bytes, bytearray)):
            return sys.getsizeof(value)
        if isinstance(value, dict):
            return sys.getsizeof(value) + self._items([*value.keys(), *value.values()])
        if isinstance(value, (list, tuple, set, frozenset)):
            return sys.getsizeof(value) + self._items(list(value))
        if is_dataclass(value):
            return sys.getsizeof(value) + sum(self.measure(getattr(value, f.name, None)) for f in fields(value))
        held = getattr(value, "__dict__", None)
        if isinstance(held, dict):
            return sys.getsizeof(value) + self.measure(held)
        slots = [name for cls in type(value).__mro__ for name in getattr(cls, "__slots__", ())]
        return sys.getsizeof(value) + sum(self.measure(getattr(value, name, None)) for name in slots)

    def _items(self, items: list) -> int:
        if len(items) <= _SAMPLE:
            return sum(self.measure(item) for item in items)
        step = len(items) / _SAMPLE
        return int(sum(self.measure(items[int(i * step)]) for i in range(_SAMPLE)) * step)


def entry_bytes(key: Hashable, value: Any) -> int:
    """An entry's whole cost: its key (a text, a model name), its value, and the cache's own bookkeeping."""
    meter = _Meter()
    return meter.measure(key) + meter.measure(value) + ENTRY_BYTES


class ByteBoundedCache:
    """``around``: a context manager entered around every computation (the server's thread policy)."""

    def __init__(self, max_bytes: int, around: Callable[[], AbstractContextManager] = nullcontext):
        self.max_bytes = int(max_bytes)
        self._around = around
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
        with self._around():
            value = compute()  # outside the lock: other sessions keep being served meanwhile
        size = entry_bytes(key, value)
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
