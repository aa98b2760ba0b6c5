"""The shepard command line: deploy code, batch jobs, query them and fetch results."""

from shepard_cli._app import cli, main

__all__ = ["cli", "main"]
