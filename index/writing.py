"""``holds_writer_lock``: run an index function as the only writer of the store it is given.

A decorator rather than a ``with`` block inside each function, so the functions that
write (``ingest``, ``remove_documents``) keep their bodies as they are.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from index.locking import writer_is_gone
from index.store import ChromaStore

P = ParamSpec("P")
R = TypeVar("R")

__all__ = ["holds_writer_lock", "writer_is_gone"]


def holds_writer_lock(operation: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Hold ``store.writing(operation)`` around the call; the store is the ``store`` argument
    (by keyword) or the first positional one."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            store = kwargs.get("store", args[0] if args else None)
            if not isinstance(store, ChromaStore):
                raise TypeError(f"{fn.__name__} needs a ChromaStore as `store` to take its writer lock")
            with store.writing(operation):
                return fn(*args, **kwargs)

        return inner

    return wrap
