"""The local flock: a whole Shepard flock on one machine, behind `shepard local up|down|status`."""

from shepard_local._commands import local
from shepard_local._control import LOCAL_CREDENTIALS, local_session
from shepard_local._demo import run_demo
from shepard_local._demo_summary import demo_problems, summary_lines
from shepard_local._state import FlockState

__all__ = [
    "LOCAL_CREDENTIALS",
    "FlockState",
    "demo_problems",
    "local",
    "local_session",
    "run_demo",
    "summary_lines",
]
