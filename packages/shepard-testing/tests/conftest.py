"""The kit's own tests: sample events beside them, and pytester to run the plugin in a throwaway project."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]

EVENTS = Path(__file__).parent / "events"


@pytest.fixture
def sample():
    """Return a function loading the sample event `tests/events/<name>.json`."""

    def load(name: str) -> Any:
        return json.loads((EVENTS / f"{name}.json").read_text())

    return load
