"""The Run again button's action: shepard-cli's `run_again`, when this install has it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeAlias

    from shepard_ui._flock import Flock

    RunAgain: TypeAlias = Callable[[Flock, str, str], dict[str, Any]]


def load_run_again() -> RunAgain | None:
    """Return the function running a job again (flock, job UUID, request id), or None without one."""
    return None
