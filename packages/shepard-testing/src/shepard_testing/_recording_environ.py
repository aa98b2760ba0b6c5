"""An environment mapping that records the names a configuration reader looks up in it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping


class RecordingEnviron(Mapping[str, str]):
    """An environment that remembers every name looked up in it, and refuses to be listed."""

    def __init__(self, values: Mapping[str, str]) -> None:
        """Hold a copy of `values`; nothing has been looked up yet."""
        self._values = dict(values)
        self.looked_up: set[str] = set()

    def __getitem__(self, name: str) -> str:
        """Record `name`, then return its value (KeyError when unset)."""
        self.looked_up.add(name)
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        """Fail: a configuration must look its names up, so that they can be checked, not list them all."""
        raise AssertionError("the config must look names up, not list the environment")

    def __len__(self) -> int:
        """Return how many variables are set."""
        return len(self._values)
