"""Run the shepard command line with `python -m shepard_cli`."""

from shepard_cli._commands import main

main()
