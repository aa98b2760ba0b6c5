"""`python -m shepard_worker` is `shepard-worker`."""

from shepard_worker._cli import entrypoint

entrypoint()
