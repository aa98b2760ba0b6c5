"""Prices kept on disk with an expiry, so repeated `shepard cost` runs do not ask AWS again."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Callable

CACHE_FILE: Final = "prices.json"
"""The cache's file, in the `cache` folder of the CLI's home (where the profiles are)."""


class PriceCache:
    """A JSON file of answers by key, each with the time it was stored; an expired answer is no answer."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        """Keep the cache in `path` (created on the first write); `clock` tells the time (epoch seconds)."""
        self.path = path
        self._clock = clock
        self._entries: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        """Return the entries, read from the file on first use (none when it is missing or damaged)."""
        if self._entries is None:
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                loaded = {}  # no cache yet, or a damaged one: start afresh
            self._entries = loaded if isinstance(loaded, dict) else {}
        return self._entries

    def get(self, key: str, max_age_seconds: float) -> Any:  # noqa: ANN401 - whatever JSON was stored
        """Return the answer stored under `key` if it is younger than `max_age_seconds`, else None."""
        entry = self._load().get(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("stored"), int | float):
            return None
        if self._clock() - float(entry["stored"]) > max_age_seconds:
            return None
        return entry.get("value")

    def put(self, key: str, value: object) -> None:
        """Store `value` under `key` now, and write the file (atomically; a failed write is only skipped)."""
        entries = self._load()
        entries[key] = {"stored": self._clock(), "value": value}
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".prices-", suffix=".json")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    json.dump(entries, out, sort_keys=True)
                Path(temporary).replace(self.path)
            finally:
                Path(temporary).unlink(missing_ok=True)  # when it was not moved into place
