"""Put the checkout's generated template (cloudformation/shepard.yml) into the sdist and the wheel."""

# ruff: noqa: INP001 - a build hook hatchling loads by path, not a module of a package

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

CHECKOUT_TEMPLATE = Path("..", "..", "cloudformation", "shepard.yml")
IN_SDIST = "src/shepard_flock/shepard.yml"
IN_WHEEL = "shepard_flock/shepard.yml"


class TemplateBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    """Copy the generated template into the archive being built (with a warning when there is none)."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:  # noqa: ARG002 - hook signature
        """Add the checkout's template, or (building from an sdist) the copy the sdist carries."""
        root = Path(self.root)
        checkout = (root / CHECKOUT_TEMPLATE).resolve()
        unpacked = root / IN_SDIST
        source = checkout if checkout.is_file() else unpacked
        if not source.is_file():
            # Still buildable, so `nox -s template` can install it to write the template in the first place.
            self.app.display_warning(f"no generated template at {checkout}: the package carries none")
            return
        if self.target_name == "sdist":
            build_data["force_include"][str(source)] = IN_SDIST
        elif source == checkout:
            build_data["force_include"][str(source)] = IN_WHEEL
