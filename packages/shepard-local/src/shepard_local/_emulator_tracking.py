"""Keep moto from holding every model object it ever made: its dashboard's list of instances, made weak.

moto's BaseModel appends each new instance of every model class (a DynamoDB item, an SQS message, an S3
object version, a Batch job...) to its class's `instances_tracked` list, for the `/moto-api/data.json`
dashboard, and never removes one. Items are copied on every read, write and transaction, so a long-lived
server keeps every copy: on the local flock the emulator grew by tens of kilobytes for each job it ran,
holding items that were overwritten or answered long ago. Here each class tracks its instances weakly:
the dashboard and moto's S3 reset still see every live instance, and an instance nothing else holds is
freed.
"""

from __future__ import annotations

import inspect
import itertools
import threading
import weakref
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

TRACKED: Final = "instances_tracked"
"""The class attribute moto's BaseModel appends each new instance to."""


class WeakInstances:
    """A list-like record of a model class's live instances: append() holds each only weakly."""

    def __init__(self, known: list[Any] | None = None) -> None:
        """Start with the instances `known` so far (those still alive stay tracked)."""
        self._order = itertools.count()
        self._live: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()
        for instance in known or ():
            self.append(instance)

    def append(self, instance: object) -> None:
        """Track `instance` while something else holds it (one that cannot be weakly held is not tracked)."""
        with self._lock:
            try:
                self._live[next(self._order)] = instance
            except TypeError:
                return

    def __iter__(self) -> Iterator[Any]:
        """Yield the instances alive now, in the order they were made (requests may make more meanwhile)."""
        with self._lock:
            live = sorted(self._live.items())
        return iter([instance for _, instance in live])

    def __len__(self) -> int:
        """Return how many tracked instances are alive."""
        with self._lock:
            return len(self._live)


def tracked_weakly(new: Callable[..., Any], base: type) -> Callable[..., Any]:
    """Return BaseModel.__new__ that records each instance in its class's WeakInstances, not a list.

    `new` is moto's own __new__; the list it appends to is swapped for a WeakInstances first, once per
    class, so every instance it records is held weakly from then on.
    """
    swap = threading.Lock()

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401, N807 - moto's models
        tracked = cls.__dict__.get(TRACKED)
        if not isinstance(tracked, WeakInstances):
            with swap:
                tracked = cls.__dict__.get(TRACKED)
                if not isinstance(tracked, WeakInstances):
                    setattr(cls, TRACKED, WeakInstances(tracked if isinstance(tracked, list) else None))
        return new(cls, *args, **kwargs)

    __new__.__qualname__ = f"{base.__qualname__}.__new__"
    __new__.tracks_weakly = True  # type: ignore[attr-defined]
    return __new__


def install() -> None:
    """Amend moto's BaseModel to track instances weakly; raise RuntimeError if it no longer tracks them."""
    from moto.core.common_models import BaseModel

    found = BaseModel.__dict__.get("__new__")
    new = getattr(found, "__func__", found)
    if getattr(new, "tracks_weakly", False):
        return
    if not callable(new) or TRACKED not in inspect.getsource(new):
        raise RuntimeError(
            f"moto's BaseModel no longer has its own __new__ recording instances in {TRACKED};"
            " the emulator could not keep its memory from growing with every object it makes"
        )
    BaseModel.__new__ = staticmethod(tracked_weakly(new, BaseModel))  # type: ignore[method-assign]
