"""The profile store under its former private name, for code not yet importing shepard_cli.profiles."""

from shepard_cli.profiles import ProfileStore

__all__ = ["ProfileStore"]
