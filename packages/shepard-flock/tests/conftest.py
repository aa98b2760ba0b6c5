"""Fixtures of shepard-flock's tests: the template the installed package carries, isolated imports."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(scope="session")
def template() -> Path:
    """The generated shepard.yml inside the installed shepard-flock package."""
    from shepard_flock import packaged_template

    path = packaged_template()
    assert path.is_file(), f"{path} is missing: the wheel was built without cloudformation/shepard.yml"
    return path


@pytest.fixture
def isolated_imports() -> Iterator[None]:
    """Undo the modules and import hooks that loading a template's inline code installs."""
    modules, meta_path = dict(sys.modules), list(sys.meta_path)
    yield
    sys.meta_path[:] = meta_path
    for name in set(sys.modules) - set(modules):
        del sys.modules[name]
    sys.modules.update(modules)
