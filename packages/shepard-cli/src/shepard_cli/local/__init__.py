"""The local flock: a whole Shepard flock on one machine, behind `shepard local up|down|status`."""

from shepard_cli.local._commands import local
from shepard_cli.local._flock import FlockNames, FlockState, default_local_dir

__all__ = ["FlockNames", "FlockState", "default_local_dir", "local"]
