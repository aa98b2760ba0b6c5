"""How tools reach a local flock: the `local` profile made current, and `export` lines for a shell."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from shepard_cli.profiles import ProfileStore

    from shepard_local._state import FlockState

SHADOWING_VARIABLES: Final = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
"""Variables `env` unsets: a profile or session token of a real account would travel with the stand-ins."""


def adopt_profile(store: ProfileStore, name: str) -> str:
    """Make profile `name` current unless another existing one is; return a line saying which happened."""
    current = store.current()
    if current is None or current == name or not store.exists(current):
        store.set_current(name)
        return f"Current profile is now {name!r}: plain `shepard ...` commands act on this flock."
    return (
        f"Current profile stays {current!r}: use `shepard --profile {name} ...`, "
        f"or `shepard set-profile {name}` to make this flock's profile current."
    )


def env_exports(state: FlockState, credentials: dict[str, str]) -> list[str]:
    """Return the shell lines pointing the aws CLI and boto3 at the flock (endpoint, stand-in credentials)."""
    values = {"AWS_ENDPOINT_URL": state.api_endpoint or state.aws_endpoint, **credentials}
    lines = [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
    return [*lines, f"unset {' '.join(SHADOWING_VARIABLES)}"]


def env_unsets(credentials: dict[str, str]) -> list[str]:
    """Return the shell line undoing `env_exports` (the unset shadowing variables cannot be restored)."""
    return [f"unset {' '.join(['AWS_ENDPOINT_URL', *credentials])}"]
